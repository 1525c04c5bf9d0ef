# Los correos de Latchkey en español. Cada correo son dos mensajes, <template>-subject y
# <template>-text; las variables ({ $code }, …) están en docs/languages.md.

action-sign-up = crear su cuenta
action-sign-in = iniciar sesión
action-recovery = recuperar su cuenta y registrar una nueva llave de acceso
action-email-change = trasladar su cuenta a esta dirección
action-verify-address = verificar esta dirección

sessions-signed-out-others = Se cerraron todas las demás sesiones de la cuenta.
sessions-signed-out-everywhere = Se cerraron todas las sesiones de la cuenta.

ignore = Si no lo ha pedido, ignore este mensaje: no cambia nada.

verification-code-subject = Su código de verificación de { $tenant }
verification-code-text =
    { $code } es su código de verificación de { $tenant }.

    Introdúzcalo en la página donde lo pidió para { $action }, o abra este enlace y confirme allí:

    { $link }

    El código funciona una vez, durante { $minutes } minutos. No se lo dé a nadie: { $tenant } nunca se lo pedirá por teléfono ni por correo.
    { ignore }

already-have-account-subject = Ya tiene una cuenta de { $tenant }
already-have-account-text =
    Alguien (probablemente usted) pidió crear una cuenta de { $tenant } con esta dirección, pero ya tiene una cuenta.

    Inicie sesión con su llave de acceso en { $page }
    ¿Perdió su llave de acceso? Recupere su cuenta desde la misma página ("¿Perdió su llave de acceso?").

    { ignore }

no-account-subject = No hay ninguna cuenta de { $tenant } con esta dirección
no-account-text =
    Alguien (probablemente usted) pidió { $action } en { $tenant } con esta dirección, pero ninguna cuenta activa la usa.

    Para crear una cuenta, vaya a { $page }

    { ignore }

address-taken-subject = Esta dirección ya se usa en { $tenant }
address-taken-text =
    Alguien pidió trasladar una cuenta de { $tenant } a esta dirección, pero otra cuenta ya la usa; no cambia nada.

    { ignore }

already-verified-subject = Su dirección en { $tenant } ya está verificada
already-verified-text =
    Alguien pidió verificar esta dirección en { $tenant }; ya está verificada, no hay nada que hacer.

    { ignore }

notice-footer =
    Si fue usted, no hay nada que hacer.

    Si no fue usted: alguien puede leer su correo. Proteja primero su buzón (cambie su contraseña), después recupere su cuenta en { $page } ("¿Perdió su llave de acceso?") eligiendo cerrar todas las sesiones, elimine las llaves de acceso que no reconozca en la página de la cuenta ({ $account_page }) y avise al soporte de { $tenant }.

passkey-added-subject = Se añadió una llave de acceso a su cuenta de { $tenant }
passkey-added-text =
    Se añadió una llave de acceso llamada "{ $name }" a su cuenta de { $tenant }.

    { notice-footer }

passkey-removed-subject = Se eliminó una llave de acceso de su cuenta de { $tenant }
passkey-removed-text =
    Se eliminó la llave de acceso llamada "{ $name }" de su cuenta de { $tenant }; ya no puede iniciar sesión.

    { notice-footer }

account-recovered-subject = Se recuperó su cuenta de { $tenant }
account-recovered-text =
    Su cuenta de { $tenant } se recuperó con un código enviado a esta dirección y se registró una nueva llave de acceso. { $sessions }

    { notice-footer }

recovery-requested-subject = La recuperación de su cuenta de { $tenant } espera aprobación
recovery-requested-text =
    Alguien con un código enviado a esta dirección pidió recuperar su cuenta de { $tenant }. Un administrador revisará la solicitud; una vez aprobada, recibirá un correo con un enlace para registrar una nueva llave de acceso.

    { notice-footer }

recovery-approved-subject = Registre una nueva llave de acceso para su cuenta de { $tenant }
recovery-approved-text =
    Un administrador aprobó la recuperación de su cuenta de { $tenant }. Abra este enlace para registrar una nueva llave de acceso:

    { $link }

    El enlace funciona una vez, durante { $hours } horas. Si no pidió recuperar su cuenta, no lo abra y avise al soporte de { $tenant }.

passkey-enrollment-subject = Configure el inicio de sesión de su cuenta de { $tenant }
passkey-enrollment-text =
    Su cuenta de { $tenant } está lista. Abra este enlace para configurar una llave de acceso e iniciar sesión con ella:

    { $link }

    El enlace funciona una vez, durante { $hours } horas. Si no esperaba este mensaje, ignórelo.

password-set-subject = Se estableció una contraseña en su cuenta de { $tenant }
password-set-text =
    Se estableció una contraseña en su cuenta de { $tenant }; ahora puede iniciar sesión con ella.

    { notice-footer }

password-changed-subject = Se cambió la contraseña de su cuenta de { $tenant }
password-changed-text =
    Se cambió la contraseña de su cuenta de { $tenant }. { $sessions }

    { notice-footer }

password-reset-subject = Se restableció la contraseña de su cuenta de { $tenant }
password-reset-text =
    Se restableció la contraseña de su cuenta de { $tenant } con un código enviado a esta dirección. { $sessions }

    { notice-footer }

totp-enabled-subject = Una aplicación de autenticación protege ahora su cuenta de { $tenant }
totp-enabled-text =
    Se añadió una aplicación de autenticación a su cuenta de { $tenant }: los inicios de sesión con contraseña ahora también piden su código.

    { notice-footer }

totp-removed-subject = Se eliminó la aplicación de autenticación de su cuenta de { $tenant }
totp-removed-text =
    Se eliminó la aplicación de autenticación de su cuenta de { $tenant }: los inicios de sesión con contraseña ya no piden un segundo factor.

    { notice-footer }

recovery-code-used-subject = Se usó un código de recuperación de su cuenta de { $tenant }
recovery-code-used-text =
    Un inicio de sesión en su cuenta de { $tenant } usó uno de sus códigos de recuperación; quedan { $left }. Cada uno funciona una vez.

    { notice-footer }

email-changed-subject = Se ha cambiado la dirección de correo de su cuenta de { $tenant }
email-changed-text =
    Su cuenta de { $tenant } usa ahora la dirección { $email }; esta dirección ya no permite iniciar sesión en ella.

    Si no fue usted, deshaga el cambio en un plazo de { $days } días con este enlace (también cierra todas las sesiones de la cuenta): { $link }

email-change-undone-subject = Se ha deshecho el cambio de dirección de correo de su cuenta de { $tenant }
email-change-undone-text =
    Su cuenta de { $tenant } vuelve a usar esta dirección, y se han cerrado todas las sesiones de la cuenta.

    { notice-footer }

account-deletion-scheduled-subject = Su cuenta de { $tenant } se eliminará
account-deletion-scheduled-text =
    Ha solicitado eliminar su cuenta de { $tenant }. Se borrará el { $date } (dentro de { $days } días), con todo lo que { $tenant } guarda sobre usted, y se han cerrado todas las sesiones de la cuenta.

    ¿Ha cambiado de opinión? Inicie sesión antes en { $page } y la cuenta se quedará como está.

    Si no fue usted quien lo solicitó, inicie sesión para conservar su cuenta y después proteja su buzón y sus llaves de acceso.

invitation-subject = Le invitan a unirse a { $organization } en { $tenant }
invitation-text =
    Le han invitado a unirse a { $organization } en { $tenant }.

    Abra este enlace para aceptar; iniciará sesión (o creará una cuenta) con una llave de acceso para { $email }:

    { $link }

    La invitación caduca en { $days } días y funciona una vez. Si no la esperaba, ignore este mensaje.
