//! Verifies the access token given as the first argument for the issuer and audience given
//! as the second and third: `cargo run -p latchkey-sdk --example verify_token -- <token>
//! https://id.example.com/t/acme lkc_client_id`.

use latchkey_sdk::Verifier;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(token), Some(issuer), Some(audience)) = (args.next(), args.next(), args.next())
    else {
        eprintln!("usage: verify_token <access token> <issuer> <audience>");
        std::process::exit(2);
    };
    let verifier = Verifier::new(issuer, [audience]);
    match verifier.verify(&token).await {
        Ok(claims) => println!("valid: sub {} scope {:?}", claims.sub, claims.scope),
        Err(error) => {
            eprintln!("refused: {error}");
            std::process::exit(1);
        }
    }
}
