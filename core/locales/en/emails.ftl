# Latchkey's emails in English. Each email is two messages, <template>-subject and
# <template>-text; the placeholders ({ $code }, …) are listed in docs/languages.md.
# The HTML part of each email is made from the text (escaped), with the tenant's name and colour.

## What a verification code is for ({ $action } in the code emails).
action-sign-up = create your account
action-sign-in = sign in
action-recovery = recover your account and register a new passkey
action-email-change = move your account to this address
action-verify-address = verify this address

## Sentences that some notices add ({ $sessions }).
sessions-signed-out-others = Every other session of the account was signed out.
sessions-signed-out-everywhere = Every session of the account was signed out.

ignore = If you did not ask for this, ignore this message: nothing changes.

verification-code-subject = Your { $tenant } verification code
verification-code-text =
    { $code } is your { $tenant } verification code.

    Enter it on the page where you asked for it to { $action }, or open this link and confirm there:

    { $link }

    The code works once, for { $minutes } minutes. Never give it to anyone: { $tenant } will not ask you for it by phone or email.
    { ignore }

already-have-account-subject = You already have a { $tenant } account
already-have-account-text =
    Someone (probably you) asked to create a { $tenant } account with this address, but you already have an account.

    Sign in with your passkey at { $page }
    Lost your passkey? Recover your account from the same page ("Lost your passkey?").

    { ignore }

no-account-subject = No { $tenant } account with this address
no-account-text =
    Someone (probably you) asked to { $action } on { $tenant } with this address, but no active account uses it.

    To create an account, go to { $page }

    { ignore }

address-taken-subject = This address is already used on { $tenant }
address-taken-text =
    Someone asked to move a { $tenant } account to this address, but another account already uses it, so nothing changes.

    { ignore }

already-verified-subject = Your { $tenant } address is already verified
already-verified-text =
    Someone asked to verify this address on { $tenant }; it is verified already, so there is nothing to do.

    { ignore }

## Security notices: what happened, then what to do if it was not the owner.
notice-footer =
    If this was you, there is nothing to do.

    If it was not you: someone can read your email. Secure your mailbox first (change its password), then recover your account at { $page } ("Lost your passkey?") and choose to sign out everywhere, remove the passkeys you do not know on the account page ({ $account_page }), and tell { $tenant }'s support.

passkey-added-subject = A passkey was added to your { $tenant } account
passkey-added-text =
    A passkey named "{ $name }" was added to your { $tenant } account.

    { notice-footer }

passkey-removed-subject = A passkey was removed from your { $tenant } account
passkey-removed-text =
    The passkey named "{ $name }" was removed from your { $tenant } account; it can no longer sign in.

    { notice-footer }

account-recovered-subject = Your { $tenant } account was recovered
account-recovered-text =
    Your { $tenant } account was recovered with a code sent to this address, and a new passkey was registered. { $sessions }

    { notice-footer }

recovery-requested-subject = Recovery of your { $tenant } account is waiting for approval
recovery-requested-text =
    Someone with a code sent to this address asked to recover your { $tenant } account. An administrator will review the request; once approved you get an email with a link to register a new passkey.

    { notice-footer }

recovery-approved-subject = Register a new passkey for your { $tenant } account
recovery-approved-text =
    An administrator approved the recovery of your { $tenant } account. Open this link to register a new passkey:

    { $link }

    The link works once, for { $hours } hours. If you did not ask to recover your account, do not open it and tell { $tenant }'s support.

passkey-enrollment-subject = Set up sign-in for your { $tenant } account
passkey-enrollment-text =
    Your { $tenant } account is ready. Open this link to set up a passkey and sign in with it:

    { $link }

    The link works once, for { $hours } hours. If you did not expect this message, ignore it.

password-set-subject = A password was set on your { $tenant } account
password-set-text =
    A password was set on your { $tenant } account; it can now sign in with it.

    { notice-footer }

password-changed-subject = The password of your { $tenant } account was changed
password-changed-text =
    The password of your { $tenant } account was changed. { $sessions }

    { notice-footer }

password-reset-subject = The password of your { $tenant } account was reset
password-reset-text =
    The password of your { $tenant } account was reset with a code sent to this address. { $sessions }

    { notice-footer }

totp-enabled-subject = An authenticator app now protects your { $tenant } account
totp-enabled-text =
    An authenticator app was added to your { $tenant } account: password sign-ins now also ask for its code.

    { notice-footer }

totp-removed-subject = The authenticator app was removed from your { $tenant } account
totp-removed-text =
    The authenticator app was removed from your { $tenant } account: password sign-ins no longer ask for a second factor.

    { notice-footer }

recovery-code-used-subject = A recovery code of your { $tenant } account was used
recovery-code-used-text =
    A sign-in to your { $tenant } account used one of its recovery codes; { $left } are left. Each works once.

    { notice-footer }

email-changed-subject = The email address of your { $tenant } account was changed
email-changed-text =
    Your { $tenant } account now uses the address { $email }; this address no longer signs in to it.

    If you did not do this, undo it within { $days } days with this link (it also signs the account out everywhere): { $link }

email-change-undone-subject = The email address change of your { $tenant } account was undone
email-change-undone-text =
    Your { $tenant } account uses this address again, and every session of the account was signed out.

    { notice-footer }

account-deletion-scheduled-subject = Your { $tenant } account will be deleted
account-deletion-scheduled-text =
    You asked to delete your { $tenant } account. It will be erased on { $date } (in { $days } days), with everything { $tenant } holds about you, and every session of the account was signed out.

    Changed your mind? Sign in before then at { $page } and the account stays as it is.

    If it was not you who asked, sign in to keep your account, then secure your mailbox and your passkeys.

invitation-subject = You are invited to join { $organization } on { $tenant }
invitation-text =
    You have been invited to join { $organization } on { $tenant }.

    Open this link to accept; you will sign in (or create an account) with a passkey for { $email }:

    { $link }

    The invitation expires in { $days } days and works once. If you did not expect it, ignore this message.
