# Les pages que le serveur de Latchkey produit lui-même, en français : la page d’erreur
# d’OpenID Connect, la confirmation de déconnexion et le choix de l’organisation.

error-title = Cette demande de connexion ne peut pas aboutir
error-code = Erreur :
error-advice = Retournez à l’application et réessayez ; si le problème persiste, prévenez le responsable de l’application.

sign-out-title = Se déconnecter ?
sign-out-text = Une application a demandé à vous déconnecter.
sign-out-button = Se déconnecter

choose-organization-title = Choisissez une organisation
choose-organization-text = Vous appartenez à plusieurs organisations. À laquelle voulez-vous vous connecter ?
