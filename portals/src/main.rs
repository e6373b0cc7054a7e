//! `paymesh`: runs one participant (`paymesh provider …`) or the demo network.

use std::process::ExitCode;

use clap::Parser;
use portals::cli::{Cli, Tool};

/// mimalloc instead of glibc's malloc (the `mimalloc` feature, on by default): a payment
/// allocates and frees thousands of small blocks across threads (HTTP buffers, rows,
/// futures), where glibc's locks and consolidation cost a fifth of the CPU
/// (docs/performance.md "The allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's settings, applied before the Rust runtime's first allocation makes the
/// allocator's first arena: from `main` it is too late for one of them (an idle agent kept
/// 22 MiB of heap instead of 8). On Linux the loader runs `.init_array` entries before the
/// runtime starts; elsewhere `main` applies them, later.
#[cfg(all(feature = "mimalloc", target_os = "linux"))]
#[used]
#[unsafe(link_section = ".init_array")]
static BEFORE_THE_FIRST_ALLOCATION: extern "C" fn() = {
    extern "C" fn apply() {
        portals::allocator::give_freed_memory_back();
    }
    apply
};

fn main() -> ExitCode {
    keep_large_blocks_out_of_the_heap();
    #[cfg(all(feature = "mimalloc", not(target_os = "linux")))]
    portals::allocator::give_freed_memory_back();
    // Before any HTTP client is built: reqwest takes the process's rustls provider (ring).
    shared::outbound::install_crypto_provider();
    let args = match shared::config::fold_in_config_file(std::env::args_os().collect(), 2) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("paymesh: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("paymesh: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command.into_settings() {
        Ok(settings) => runtime.block_on(portals::server::run(settings)),
        Err(Tool::Demo(demo)) => runtime.block_on(portals::demo::run(demo)),
        Err(Tool::Bench(bench)) => runtime.block_on(portals::bench::run(*bench)),
        #[cfg(all(feature = "processing", feature = "provider"))]
        Err(Tool::Chaos(chaos)) => runtime.block_on(portals::chaos::run(chaos)),
        #[cfg(not(all(feature = "processing", feature = "provider")))]
        Err(Tool::Chaos(_)) => {
            eprintln!("paymesh chaos: this build has no processing or provider role");
            ExitCode::from(2)
        }
    }
}

/// glibc serves blocks above its mmap threshold (128 KiB) with mmap and gives them back
/// when freed — but after the first such free it raises the threshold to that block's
/// size, so later ones come from the heap and stay there. Each argon2 hash takes a 19 MiB
/// block: an agent that hashed its three first passwords kept ~40 MiB of heap for good
/// (69 MiB resident, idle). A fixed threshold keeps them mmapped and returned (31 MiB).
/// (Only with glibc's allocator; mimalloc's is `portals::allocator`.)
fn keep_large_blocks_out_of_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread
    // starts, and a refusal (0) leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
