/// mimalloc: the load path and the JSON work per request are allocation-bound, and glibc's
/// malloc spent a third of load time in `_int_free`/`malloc_consolidate` (see bench/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    evalmock::cli::main()
}
