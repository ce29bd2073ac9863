fn main() -> std::process::ExitCode {
    evalmock::cli::main()
}
