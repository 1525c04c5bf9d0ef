# Les e-mails de Latchkey en français. Chaque e-mail est fait de deux messages, <template>-subject
# et <template>-text ; les variables ({ $code }, …) sont listées dans docs/languages.md.

action-sign-up = créer votre compte
action-sign-in = vous connecter
action-recovery = récupérer votre compte et enregistrer une nouvelle clé d'accès
action-email-change = transférer votre compte vers cette adresse
action-verify-address = vérifier cette adresse

sessions-signed-out-others = Toutes les autres sessions du compte ont été déconnectées.
sessions-signed-out-everywhere = Toutes les sessions du compte ont été déconnectées.

ignore = Si vous n'avez rien demandé, ignorez ce message : rien ne change.

verification-code-subject = Votre code de vérification { $tenant }
verification-code-text =
    { $code } est votre code de vérification { $tenant }.

    Saisissez-le sur la page où vous l'avez demandé pour { $action }, ou ouvrez ce lien et confirmez-y :

    { $link }

    Le code fonctionne une fois, pendant { $minutes } minutes. Ne le donnez à personne : { $tenant } ne vous le demandera jamais par téléphone ou par e-mail.
    { ignore }

already-have-account-subject = Vous avez déjà un compte { $tenant }
already-have-account-text =
    Quelqu'un (sans doute vous) a demandé à créer un compte { $tenant } avec cette adresse, mais vous avez déjà un compte.

    Connectez-vous avec votre clé d'accès sur { $page }
    Clé d'accès perdue ? Récupérez votre compte depuis la même page (« Clé d'accès perdue ? »).

    { ignore }

no-account-subject = Aucun compte { $tenant } avec cette adresse
no-account-text =
    Quelqu'un (sans doute vous) a demandé à { $action } sur { $tenant } avec cette adresse, mais aucun compte actif ne l'utilise.

    Pour créer un compte, allez sur { $page }

    { ignore }

address-taken-subject = Cette adresse est déjà utilisée sur { $tenant }
address-taken-text =
    Quelqu'un a demandé à transférer un compte { $tenant } vers cette adresse, mais un autre compte l'utilise déjà ; rien ne change.

    { ignore }

already-verified-subject = Votre adresse { $tenant } est déjà vérifiée
already-verified-text =
    Quelqu'un a demandé à vérifier cette adresse sur { $tenant } ; elle est déjà vérifiée, il n'y a rien à faire.

    { ignore }

notice-footer =
    Si c'était vous, il n'y a rien à faire.

    Sinon : quelqu'un peut lire vos e-mails. Sécurisez d'abord votre messagerie (changez son mot de passe), puis récupérez votre compte sur { $page } (« Clé d'accès perdue ? ») en choisissant de déconnecter toutes les sessions, supprimez les clés d'accès inconnues sur la page du compte ({ $account_page }) et prévenez le support de { $tenant }.

passkey-added-subject = Une clé d'accès a été ajoutée à votre compte { $tenant }
passkey-added-text =
    Une clé d'accès nommée « { $name } » a été ajoutée à votre compte { $tenant }.

    { notice-footer }

passkey-removed-subject = Une clé d'accès a été retirée de votre compte { $tenant }
passkey-removed-text =
    La clé d'accès nommée « { $name } » a été retirée de votre compte { $tenant } ; elle ne peut plus se connecter.

    { notice-footer }

account-recovered-subject = Votre compte { $tenant } a été récupéré
account-recovered-text =
    Votre compte { $tenant } a été récupéré avec un code envoyé à cette adresse, et une nouvelle clé d'accès a été enregistrée. { $sessions }

    { notice-footer }

recovery-requested-subject = La récupération de votre compte { $tenant } attend une approbation
recovery-requested-text =
    Quelqu'un disposant d'un code envoyé à cette adresse a demandé à récupérer votre compte { $tenant }. Un administrateur va examiner la demande ; une fois approuvée, vous recevrez un e-mail avec un lien pour enregistrer une nouvelle clé d'accès.

    { notice-footer }

recovery-approved-subject = Enregistrez une nouvelle clé d'accès pour votre compte { $tenant }
recovery-approved-text =
    Un administrateur a approuvé la récupération de votre compte { $tenant }. Ouvrez ce lien pour enregistrer une nouvelle clé d'accès :

    { $link }

    Le lien fonctionne une fois, pendant { $hours } heures. Si vous n'avez pas demandé à récupérer votre compte, ne l'ouvrez pas et prévenez le support de { $tenant }.

passkey-enrollment-subject = Configurez la connexion à votre compte { $tenant }
passkey-enrollment-text =
    Votre compte { $tenant } est prêt. Ouvrez ce lien pour configurer une clé d'accès et vous connecter avec :

    { $link }

    Le lien fonctionne une fois, pendant { $hours } heures. Si vous n'attendiez pas ce message, ignorez-le.

password-set-subject = Un mot de passe a été défini sur votre compte { $tenant }
password-set-text =
    Un mot de passe a été défini sur votre compte { $tenant } ; il peut désormais servir à se connecter.

    { notice-footer }

password-changed-subject = Le mot de passe de votre compte { $tenant } a été changé
password-changed-text =
    Le mot de passe de votre compte { $tenant } a été changé. { $sessions }

    { notice-footer }

password-reset-subject = Le mot de passe de votre compte { $tenant } a été réinitialisé
password-reset-text =
    Le mot de passe de votre compte { $tenant } a été réinitialisé avec un code envoyé à cette adresse. { $sessions }

    { notice-footer }

totp-enabled-subject = Une application d'authentification protège désormais votre compte { $tenant }
totp-enabled-text =
    Une application d'authentification a été ajoutée à votre compte { $tenant } : les connexions par mot de passe demandent désormais aussi son code.

    { notice-footer }

totp-removed-subject = L'application d'authentification a été retirée de votre compte { $tenant }
totp-removed-text =
    L'application d'authentification a été retirée de votre compte { $tenant } : les connexions par mot de passe ne demandent plus de second facteur.

    { notice-footer }

recovery-code-used-subject = Un code de récupération de votre compte { $tenant } a été utilisé
recovery-code-used-text =
    Une connexion à votre compte { $tenant } a utilisé l'un de ses codes de récupération ; il en reste { $left }. Chacun fonctionne une fois.

    { notice-footer }

email-changed-subject = L'adresse e-mail de votre compte { $tenant } a été modifiée
email-changed-text =
    Votre compte { $tenant } utilise désormais l'adresse { $email } ; cette adresse ne permet plus de s'y connecter.

    Si ce n'était pas vous, annulez ce changement sous { $days } jours avec ce lien (il déconnecte aussi le compte partout) : { $link }

email-change-undone-subject = Le changement d'adresse e-mail de votre compte { $tenant } a été annulé
email-change-undone-text =
    Votre compte { $tenant } utilise de nouveau cette adresse, et toutes les sessions du compte ont été fermées.

    { notice-footer }

account-deletion-scheduled-subject = Votre compte { $tenant } va être supprimé
account-deletion-scheduled-text =
    Vous avez demandé la suppression de votre compte { $tenant }. Il sera effacé le { $date } (dans { $days } jours), avec tout ce que { $tenant } conserve à votre sujet, et toutes les sessions du compte ont été fermées.

    Vous avez changé d'avis ? Connectez-vous avant cette date sur { $page } et le compte restera tel quel.

    Si ce n'est pas vous qui l'avez demandé, connectez-vous pour garder votre compte, puis sécurisez votre messagerie et vos clés d'accès.

invitation-subject = Vous êtes invité à rejoindre { $organization } sur { $tenant }
invitation-text =
    Vous avez été invité à rejoindre { $organization } sur { $tenant }.

    Ouvrez ce lien pour accepter ; vous vous connecterez (ou créerez un compte) avec une clé d'accès pour { $email } :

    { $link }

    L'invitation expire dans { $days } jours et fonctionne une fois. Si vous ne l'attendiez pas, ignorez ce message.
