//! The migrations are embedded in the binary (`embed_migrations!`): rebuild
//! when one is added or changed, not only when a Rust file is.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
