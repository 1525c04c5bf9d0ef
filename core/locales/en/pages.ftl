# The pages Latchkey's server renders itself, in English: the OpenID Connect error page, the
# sign-out confirmation and the organization picker (api/src/http/oidc/). The hosted sign-in and
# account pages have their own catalogs, web/tenant/locales/<tag>.json.

error-title = This sign-in request cannot be completed
error-code = Error:
error-advice = Go back to the application and try again; if it keeps happening, tell the application's owner.

sign-out-title = Sign out?
sign-out-text = An application asked to sign you out.
sign-out-button = Sign out

choose-organization-title = Choose an organization
choose-organization-text = You belong to several organizations. Which one do you want to sign in to?

access-denied-title = You cannot sign in to this application
access-denied-text = Your account is signed in, but the application does not let it in. Ask the application's owner for access, or sign in with another account.
access-denied-return = Return to the application

federation-title = Sign-in through your provider did not complete
federation-return = Back to sign-in
