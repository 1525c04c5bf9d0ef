//! The language of a tenant's mail and the tenant's own texts, as the services apply them:
//! the recipient's stored locale before the browser's languages before the tenant's default,
//! overrides used for their own tenant and language only, and who may change them.

mod common;

use common::{RecordingMailer, TestTenant, World, assert_err};
use latchkey_core::Error;
use latchkey_core::email_templates::{self, Email, EmailTemplate};
use latchkey_core::identities::Identity;
use latchkey_core::identities::{self, Change, IdentityChanges};
use latchkey_core::mail::{Message, Recipient, TenantMail};
use latchkey_core::notices::{Notice, send_notice};
use latchkey_core::settings::TenantSettings;

fn password_set() -> Email {
    Email::new(EmailTemplate::PasswordSet)
}

async fn with_locale(world: &World, t: &TestTenant, email: &str, locale: Option<&str>) -> Identity {
    let identity = world.identity(t, email, true).await;
    let Some(locale) = locale else {
        return identity;
    };
    identities::update_identity(
        &world.db,
        &t.scope,
        &world.owner(t).await,
        identity.id,
        IdentityChanges {
            locale: Change::Set(locale.to_owned()),
            ..IdentityChanges::default()
        },
    )
    .await
    .expect("the locale is stored")
}

fn last(mailer: &RecordingMailer) -> Message {
    mailer.sent().pop().expect("a message was sent")
}

#[tokio::test]
async fn the_stored_locale_beats_the_browser_which_beats_the_tenant_default() {
    let world = World::new().await;
    let mut t = world.tenant("langs").await;
    t.settings = TenantSettings {
        default_locale: "es".into(),
        ..TenantSettings::default()
    };
    let mailer = RecordingMailer::default();
    let french = with_locale(&world, &t, "fr@example.com", Some("fr-CA")).await;
    let plain = with_locale(&world, &t, "plain@example.com", None).await;
    let browser = TenantMail {
        accept_language: Some("de-DE,de;q=0.9,en;q=0.5"),
        ..world.mail(&t, &mailer)
    };

    // The stored locale wins over the browser.
    send_notice(&browser, &Recipient::identity(&french), Notice::TotpEnabled).await;
    let sent = last(&mailer);
    assert_eq!(sent.to, "fr@example.com");
    assert!(
        sent.subject
            .starts_with("Une application d'authentification"),
        "{}",
        sent.subject
    );
    assert!(sent.html.as_deref().unwrap().contains("<html lang=\"fr\">"));

    // Without one, the browser's language.
    send_notice(&browser, &Recipient::identity(&plain), Notice::TotpEnabled).await;
    let sent = last(&mailer);
    assert!(
        sent.subject.starts_with("Eine Authenticator-App"),
        "{}",
        sent.subject
    );

    // Without either (or a browser in a language Latchkey lacks), the tenant's default.
    let italian = TenantMail {
        accept_language: Some("it-IT,it;q=0.9"),
        ..world.mail(&t, &mailer)
    };
    send_notice(&italian, &Recipient::identity(&plain), Notice::TotpEnabled).await;
    assert!(
        last(&mailer)
            .subject
            .starts_with("Una aplicación de autenticación")
    );
    // Mail for someone other than the caller ignores the caller's browser.
    send_notice(
        &browser.for_someone_else(),
        &Recipient::identity(&plain),
        Notice::TotpEnabled,
    )
    .await;
    assert!(
        last(&mailer)
            .subject
            .starts_with("Una aplicación de autenticación")
    );
    // Every message is text plus HTML, with the tenant's name and colour.
    let sent = last(&mailer);
    let html = sent.html.unwrap();
    assert!(html.contains(&t.tenant.name));
    assert!(html.contains(&t.settings.primary_color));
    assert!(sent.text.contains(&format!("Tenant {}", t.scope.slug())));
}

#[tokio::test]
async fn an_override_is_used_for_its_tenant_and_language_only() {
    let world = World::new().await;
    let a = world.tenant("tmpl-a").await;
    let b = world.tenant("tmpl-b").await;
    let owner_a = world.owner(&a).await;
    let mailer = RecordingMailer::default();
    let saved = email_templates::set_email_template(
        &world.db,
        &a.scope,
        &owner_a,
        EmailTemplate::PasswordSet,
        "de",
        "Neues Passwort bei { $tenant }",
        "Hallo! Ihr Konto bei { $tenant } hat ein Passwort.\nFragen? { $account_page }",
    )
    .await
    .expect("a valid override is saved");
    assert_eq!(saved.language.tag(), "de");

    let german = TenantMail {
        accept_language: Some("de"),
        ..world.mail(&a, &mailer)
    };
    german
        .send(&Recipient::address("x@example.com"), &password_set())
        .await
        .unwrap();
    let sent = last(&mailer);
    assert_eq!(
        sent.subject,
        format!("Neues Passwort bei {}", a.tenant.name)
    );
    assert_eq!(
        sent.text,
        format!(
            "Hallo! Ihr Konto bei {} hat ein Passwort.\nFragen? {}account\n",
            a.tenant.name,
            common::PAGE_URL
        )
    );

    // In French, tenant A's mail is the catalog's.
    let french = TenantMail {
        accept_language: Some("fr"),
        ..world.mail(&a, &mailer)
    };
    french
        .send(&Recipient::address("x@example.com"), &password_set())
        .await
        .unwrap();
    assert!(
        last(&mailer)
            .subject
            .starts_with("Un mot de passe a été défini")
    );

    // Tenant B's German mail is the catalog's: A's override is A's.
    let b_german = TenantMail {
        accept_language: Some("de"),
        ..world.mail(&b, &mailer)
    };
    b_german
        .send(&Recipient::address("y@example.com"), &password_set())
        .await
        .unwrap();
    let sent = last(&mailer);
    assert!(
        sent.subject.starts_with("Für Ihr Konto bei"),
        "{}",
        sent.subject
    );
    assert!(!sent.text.contains("Hallo!"));

    // B sees none of A's overrides and cannot remove them.
    let owner_b = world.owner(&b).await;
    let listed = email_templates::list_email_templates(&world.db, &b.scope, &owner_b)
        .await
        .unwrap();
    assert!(listed.is_empty());
    assert_err!(
        email_templates::remove_email_template(
            &world.db,
            &b.scope,
            &owner_b,
            EmailTemplate::PasswordSet,
            "de",
        )
        .await,
        Error::NotFound,
    );
    let listed = email_templates::list_email_templates(&world.db, &a.scope, &owner_a)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    // Removing it brings the catalog back.
    email_templates::remove_email_template(
        &world.db,
        &a.scope,
        &owner_a,
        EmailTemplate::PasswordSet,
        "de",
    )
    .await
    .unwrap();
    german
        .send(&Recipient::address("x@example.com"), &password_set())
        .await
        .unwrap();
    assert!(last(&mailer).subject.starts_with("Für Ihr Konto bei"));
}

#[tokio::test]
async fn only_admins_change_overrides_and_invalid_ones_are_refused_with_nothing_saved() {
    let world = World::new().await;
    let t = world.tenant("tmpl-roles").await;
    let viewer = world.viewer(&t).await;
    let owner = world.owner(&t).await;
    assert_err!(
        email_templates::set_email_template(
            &world.db,
            &t.scope,
            &viewer,
            EmailTemplate::VerificationCode,
            "de",
            "Code",
            "{ $code }",
        )
        .await,
        Error::PermissionDenied,
    );
    let refused = email_templates::set_email_template(
        &world.db,
        &t.scope,
        &owner,
        EmailTemplate::VerificationCode,
        "de",
        "Code",
        "Ihr Code: { $passcode }",
    )
    .await;
    assert!(
        matches!(&refused, Err(Error::Validation { field, .. }) if field == "text"),
        "{refused:?}"
    );
    // The viewer reads the (empty) list.
    let listed = email_templates::list_email_templates(&world.db, &t.scope, &viewer)
        .await
        .unwrap();
    assert!(listed.is_empty());
}
