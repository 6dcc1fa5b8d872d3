fn main() -> std::process::ExitCode {
    ttfd::cli::main()
}
