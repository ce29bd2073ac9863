/// mimalloc instead of the system allocator: loading a spec or a large fixture set builds
/// millions of small JSON values, and every answer allocates. On the 91k-step-result set it
/// cut the load from ~2.0 s to ~1.2 s, and it raised throughput at default settings (see
/// README "Dependencies" and `bench/compare.sh`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    evalmock::cli::main()
}
