//! The `kcpu` binary: parse arguments, run, exit with the documented code.

fn main() -> std::process::ExitCode {
    kcpu::cli::main()
}
