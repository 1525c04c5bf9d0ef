# Latchkeys E-Mails auf Deutsch. Jede E-Mail besteht aus zwei Nachrichten, <template>-subject und
# <template>-text; die Platzhalter ({ $code }, …) stehen in docs/languages.md.

action-sign-up = Ihr Konto zu erstellen
action-sign-in = sich anzumelden
action-recovery = Ihr Konto wiederherzustellen und einen neuen Passkey zu registrieren
action-email-change = Ihr Konto auf diese Adresse umzuziehen
action-verify-address = diese Adresse zu bestätigen

sessions-signed-out-others = Alle anderen Sitzungen des Kontos wurden abgemeldet.
sessions-signed-out-everywhere = Alle Sitzungen des Kontos wurden abgemeldet.

ignore = Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Es ändert sich nichts.

verification-code-subject = Ihr Bestätigungscode für { $tenant }
verification-code-text =
    { $code } ist Ihr Bestätigungscode für { $tenant }.

    Geben Sie ihn auf der Seite ein, auf der Sie ihn angefordert haben, um { $action }, oder öffnen Sie diesen Link und bestätigen Sie dort:

    { $link }

    Der Code gilt einmal, { $minutes } Minuten lang. Geben Sie ihn niemandem weiter: { $tenant } fragt Sie nie per Telefon oder E-Mail danach.
    { ignore }

already-have-account-subject = Sie haben bereits ein Konto bei { $tenant }
already-have-account-text =
    Jemand (vermutlich Sie) wollte mit dieser Adresse ein Konto bei { $tenant } erstellen, aber Sie haben bereits ein Konto.

    Melden Sie sich mit Ihrem Passkey an: { $page }
    Passkey verloren? Stellen Sie Ihr Konto auf derselben Seite wieder her ("Passkey verloren?").

    { ignore }

no-account-subject = Kein Konto bei { $tenant } mit dieser Adresse
no-account-text =
    Jemand (vermutlich Sie) wollte mit dieser Adresse bei { $tenant } { $action }, aber kein aktives Konto verwendet sie.

    Um ein Konto zu erstellen, öffnen Sie { $page }

    { ignore }

address-taken-subject = Diese Adresse wird bei { $tenant } bereits verwendet
address-taken-text =
    Jemand wollte ein Konto bei { $tenant } auf diese Adresse umziehen, aber ein anderes Konto verwendet sie bereits; es ändert sich nichts.

    { ignore }

already-verified-subject = Ihre Adresse bei { $tenant } ist bereits bestätigt
already-verified-text =
    Jemand wollte diese Adresse bei { $tenant } bestätigen; sie ist bereits bestätigt, es ist nichts zu tun.

    { ignore }

notice-footer =
    Wenn Sie das waren, ist nichts zu tun.

    Wenn nicht: Jemand kann Ihre E-Mails lesen. Sichern Sie zuerst Ihr Postfach (ändern Sie sein Passwort), stellen Sie dann Ihr Konto unter { $page } wieder her ("Passkey verloren?") und melden Sie es überall ab, entfernen Sie unbekannte Passkeys auf der Kontoseite ({ $account_page }) und benachrichtigen Sie den Support von { $tenant }.

passkey-added-subject = Ihrem Konto bei { $tenant } wurde ein Passkey hinzugefügt
passkey-added-text =
    Ein Passkey namens "{ $name }" wurde Ihrem Konto bei { $tenant } hinzugefügt.

    { notice-footer }

passkey-removed-subject = Ein Passkey wurde aus Ihrem Konto bei { $tenant } entfernt
passkey-removed-text =
    Der Passkey namens "{ $name }" wurde aus Ihrem Konto bei { $tenant } entfernt; er kann sich nicht mehr anmelden.

    { notice-footer }

account-recovered-subject = Ihr Konto bei { $tenant } wurde wiederhergestellt
account-recovered-text =
    Ihr Konto bei { $tenant } wurde mit einem an diese Adresse gesendeten Code wiederhergestellt, und ein neuer Passkey wurde registriert. { $sessions }

    { notice-footer }

recovery-requested-subject = Die Wiederherstellung Ihres Kontos bei { $tenant } wartet auf Freigabe
recovery-requested-text =
    Jemand mit einem an diese Adresse gesendeten Code möchte Ihr Konto bei { $tenant } wiederherstellen. Ein Administrator prüft die Anfrage; nach der Freigabe erhalten Sie eine E-Mail mit einem Link, um einen neuen Passkey zu registrieren.

    { notice-footer }

recovery-approved-subject = Registrieren Sie einen neuen Passkey für Ihr Konto bei { $tenant }
recovery-approved-text =
    Ein Administrator hat die Wiederherstellung Ihres Kontos bei { $tenant } freigegeben. Öffnen Sie diesen Link, um einen neuen Passkey zu registrieren:

    { $link }

    Der Link gilt einmal, { $hours } Stunden lang. Wenn Sie keine Wiederherstellung angefordert haben, öffnen Sie ihn nicht und benachrichtigen Sie den Support von { $tenant }.

passkey-enrollment-subject = Richten Sie die Anmeldung für Ihr Konto bei { $tenant } ein
passkey-enrollment-text =
    Ihr Konto bei { $tenant } ist bereit. Öffnen Sie diesen Link, um einen Passkey einzurichten und sich damit anzumelden:

    { $link }

    Der Link gilt einmal, { $hours } Stunden lang. Wenn Sie diese Nachricht nicht erwartet haben, ignorieren Sie sie.

password-set-subject = Für Ihr Konto bei { $tenant } wurde ein Passwort festgelegt
password-set-text =
    Für Ihr Konto bei { $tenant } wurde ein Passwort festgelegt; es kann sich jetzt damit anmelden.

    { notice-footer }

password-changed-subject = Das Passwort Ihres Kontos bei { $tenant } wurde geändert
password-changed-text =
    Das Passwort Ihres Kontos bei { $tenant } wurde geändert. { $sessions }

    { notice-footer }

password-reset-subject = Das Passwort Ihres Kontos bei { $tenant } wurde zurückgesetzt
password-reset-text =
    Das Passwort Ihres Kontos bei { $tenant } wurde mit einem an diese Adresse gesendeten Code zurückgesetzt. { $sessions }

    { notice-footer }

totp-enabled-subject = Eine Authenticator-App schützt jetzt Ihr Konto bei { $tenant }
totp-enabled-text =
    Ihrem Konto bei { $tenant } wurde eine Authenticator-App hinzugefügt: Anmeldungen mit Passwort fragen jetzt auch nach ihrem Code.

    { notice-footer }

totp-removed-subject = Die Authenticator-App wurde aus Ihrem Konto bei { $tenant } entfernt
totp-removed-text =
    Die Authenticator-App wurde aus Ihrem Konto bei { $tenant } entfernt: Anmeldungen mit Passwort fragen nicht mehr nach einem zweiten Faktor.

    { notice-footer }

recovery-code-used-subject = Ein Wiederherstellungscode Ihres Kontos bei { $tenant } wurde verwendet
recovery-code-used-text =
    Bei einer Anmeldung an Ihrem Konto bei { $tenant } wurde einer seiner Wiederherstellungscodes verwendet; { $left } sind übrig. Jeder gilt einmal.

    { notice-footer }

email-changed-subject = Die E-Mail-Adresse Ihres Kontos bei { $tenant } wurde geändert
email-changed-text =
    Ihr Konto bei { $tenant } verwendet jetzt die Adresse { $email }; mit dieser Adresse können Sie sich nicht mehr anmelden.

    Wenn Sie das nicht waren, machen Sie es innerhalb von { $days } Tagen mit diesem Link rückgängig (er meldet das Konto auch überall ab): { $link }

email-change-undone-subject = Die Änderung der E-Mail-Adresse Ihres Kontos bei { $tenant } wurde rückgängig gemacht
email-change-undone-text =
    Ihr Konto bei { $tenant } verwendet wieder diese Adresse, und alle Sitzungen des Kontos wurden abgemeldet.

    { notice-footer }

account-deletion-scheduled-subject = Ihr Konto bei { $tenant } wird gelöscht
account-deletion-scheduled-text =
    Sie haben die Löschung Ihres Kontos bei { $tenant } beantragt. Es wird am { $date } (in { $days } Tagen) mit allem, was { $tenant } über Sie speichert, gelöscht, und alle Sitzungen des Kontos wurden abgemeldet.

    Haben Sie es sich anders überlegt? Melden Sie sich vorher unter { $page } an, dann bleibt das Konto erhalten.

    Wenn Sie das nicht beantragt haben, melden Sie sich an, um Ihr Konto zu behalten, und sichern Sie dann Ihr Postfach und Ihre Passkeys.

invitation-subject = Sie sind eingeladen, { $organization } bei { $tenant } beizutreten
invitation-text =
    Sie wurden eingeladen, { $organization } bei { $tenant } beizutreten.

    Öffnen Sie diesen Link, um anzunehmen; Sie melden sich mit einem Passkey für { $email } an (oder erstellen ein Konto):

    { $link }

    Die Einladung läuft in { $days } Tagen ab und gilt einmal. Wenn Sie sie nicht erwartet haben, ignorieren Sie diese Nachricht.
