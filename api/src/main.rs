use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = latchkey_api::cli::Cli::parse();
    latchkey_api::logging::init();
    match latchkey_api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
