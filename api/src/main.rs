use clap::Parser;

// Small allocations are most of a request's work; glibc's malloc took a fifth of its CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
