// Generates include/webex_auth.h from the `ffi` module with cbindgen. The header is
// committed; tests/header.rs fails when it is stale.
fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).expect("cbindgen.toml");
    // Only the ffi module (cbindgen follows its `mod` items): the rest of the crate is
    // not part of the C API.
    let builder = cbindgen::Builder::new()
        .with_config(config)
        .with_language(cbindgen::Language::C)
        .with_src(format!("{crate_dir}/src/ffi/mod.rs"));
    match builder.generate() {
        Ok(bindings) => {
            bindings.write_to_file(format!("{crate_dir}/include/webex_auth.h"));
        }
        // A syntax error in src/ffi: let rustc report it rather than cbindgen.
        Err(e) => println!("cargo:warning=cbindgen could not generate the header: {e}"),
    }
}
