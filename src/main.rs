/// mimalloc instead of glibc's malloc: answering a request allocates and frees many small
/// buffers (headers, the parsed body, the journal entry, the log line), which mimalloc serves
/// from per-thread free lists, and it returns freed pages to the OS, where glibc's arenas keep
/// the loader's scratch memory for the life of the process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    evalmock::cli::main()
}
