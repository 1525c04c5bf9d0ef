# Die Seiten, die Latchkeys Server selbst erzeugt, auf Deutsch: die Fehlerseite von OpenID
# Connect, die Bestätigung der Abmeldung und die Auswahl der Organisation.

error-title = Diese Anmeldeanfrage kann nicht abgeschlossen werden
error-code = Fehler:
error-advice = Kehren Sie zur Anwendung zurück und versuchen Sie es erneut; wenn der Fehler bleibt, wenden Sie sich an den Betreiber der Anwendung.

sign-out-title = Abmelden?
sign-out-text = Eine Anwendung hat darum gebeten, Sie abzumelden.
sign-out-button = Abmelden

choose-organization-title = Organisation auswählen
choose-organization-text = Sie gehören mehreren Organisationen an. Bei welcher möchten Sie sich anmelden?

access-denied-title = Sie können sich bei dieser Anwendung nicht anmelden
access-denied-text = Ihr Konto ist angemeldet, aber die Anwendung lässt es nicht zu. Bitten Sie den Betreiber der Anwendung um Zugang oder melden Sie sich mit einem anderen Konto an.
access-denied-return = Zurück zur Anwendung

federation-title = Die Anmeldung über Ihren Anbieter wurde nicht abgeschlossen
federation-return = Zurück zur Anmeldung
