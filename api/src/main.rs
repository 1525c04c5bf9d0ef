use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = latchkey_api::cli::Cli::parse();
    let telemetry = latchkey_api::logging::init();
    let outcome = latchkey_api::cli::run(cli).await;
    telemetry.shutdown().await;
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
