# Las páginas que el servidor de Latchkey genera por sí mismo, en español: la página de error
# de OpenID Connect, la confirmación de cierre de sesión y la elección de la organización.

error-title = Esta solicitud de inicio de sesión no se puede completar
error-code = Error:
error-advice = Vuelva a la aplicación e inténtelo de nuevo; si sigue ocurriendo, avise al responsable de la aplicación.

sign-out-title = ¿Cerrar sesión?
sign-out-text = Una aplicación ha pedido cerrar su sesión.
sign-out-button = Cerrar sesión

choose-organization-title = Elija una organización
choose-organization-text = Pertenece a varias organizaciones. ¿En cuál quiere iniciar sesión?

access-denied-title = No puede iniciar sesión en esta aplicación
access-denied-text = Su cuenta ha iniciado sesión, pero la aplicación no la admite. Pida acceso al responsable de la aplicación o inicie sesión con otra cuenta.
access-denied-return = Volver a la aplicación

federation-title = El inicio de sesión con su proveedor no se completó
federation-return = Volver al inicio de sesión
