//! The `ttfd` binary: the command line lives in the library (`cli`).

// The server allocates many small, short-lived objects per request; mimalloc serves them
// faster than the system allocator (measured in docs/operations.md, Benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ttfd::cli::main()
}
