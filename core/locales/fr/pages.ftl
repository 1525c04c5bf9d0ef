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

access-denied-title = Vous ne pouvez pas vous connecter à cette application
access-denied-text = Votre compte est connecté, mais l'application ne l'admet pas. Demandez l'accès au responsable de l'application ou connectez-vous avec un autre compte.
access-denied-return = Revenir à l'application

federation-title = La connexion par votre fournisseur n'a pas abouti
federation-return = Revenir à la connexion
