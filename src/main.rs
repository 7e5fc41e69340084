//! The `afterschool` binary: parses the command line and hands over to `cli::run`.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = afterschool::cli::Cli::parse();
    match afterschool::cli::run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("错误: {e:#}");
            std::process::exit(1);
        }
    }
}
