// The server allocates many small, short-lived objects per request; mimalloc serves them
// faster than the system allocator (measured in README's benchmark section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ttfd::cli::main()
}
