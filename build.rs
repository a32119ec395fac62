// Generates the C header from the `ffi` module with cbindgen, into OUT_DIR (build outputs
// stay out of the source tree). The committed include/webex_auth.h must equal it:
// tests/header.rs compares the two, and `scripts/update-header.sh` copies it over.
//
// The version macros come from Cargo.toml, the one place the version lives:
// WXA_VERSION_MAJOR/MINOR/PATCH/STRING, and WXA_ABI_VERSION = the major version (a new
// major is the only thing that may break the ABI; docs/C-API.md, "ABI policy"). The shared library's
// SONAME is libwebex_auth.so.<major> for the same reason.
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;

/// One `codes!` table of src/codes.rs, as build.rs reads it: the same tokens the Rust
/// macro expands, so the header's constants and the Rust enums cannot drift apart.
struct Table {
    doc: Vec<String>,
    variants: Punctuated<syn::Variant, syn::Token![,]>,
}

impl Parse for Table {
    fn parse(input: ParseStream) -> syn::Result<Table> {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Token![pub]>()?;
        input.parse::<syn::Token![enum]>()?;
        input.parse::<syn::Ident>()?;
        input.parse::<syn::Token![in]>()?;
        input.parse::<syn::Ident>()?;
        let body;
        syn::braced!(body in input);
        Ok(Table { doc: docs(&attrs), variants: body.parse_terminated(syn::Variant::parse, syn::Token![,])? })
    }
}

fn docs(attrs: &[syn::Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// `#define`s (with their docs) for every constant of every table in src/codes.rs.
fn code_defines(path: &str) -> String {
    let src = std::fs::read_to_string(path).expect("src/codes.rs");
    let file = syn::parse_file(&src).expect("src/codes.rs parses");
    let mut out = String::new();
    for item in file.items {
        let syn::Item::Macro(m) = item else { continue };
        if !m.mac.path.is_ident("codes") {
            continue;
        }
        let table: Table = syn::parse2(m.mac.tokens).expect("a codes! table");
        out.push_str(&format!("\n/* {} */\n", table.doc.join(" ")));
        for v in table.variants {
            let c = v.attrs.iter().find(|a| a.path().is_ident("c")).expect("#[c(NAME)] on every code");
            let name: syn::Ident = c
                .parse_args_with(|p: ParseStream| {
                    let id = p.parse()?;
                    let _rest: proc_macro2::TokenStream = p.parse()?;
                    Ok(id)
                })
                .expect("#[c(NAME, ...)]");
            let Some((_, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }))) = &v.discriminant else {
                panic!("{name}: every code has a number");
            };
            out.push_str(&format!("#define {name} {n} /* {} */\n", docs(&v.attrs).join(" ")));
        }
    }
    out
}

fn main() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("cargo sets {k}"));
    let crate_dir = env("CARGO_MANIFEST_DIR");
    let out_dir = env("OUT_DIR");
    let (major, minor, patch) =
        (env("CARGO_PKG_VERSION_MAJOR"), env("CARGO_PKG_VERSION_MINOR"), env("CARGO_PKG_VERSION_PATCH"));
    let version = env("CARGO_PKG_VERSION");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=src/codes.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwebex_auth.so.{major}");
    }

    let mut config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).expect("cbindgen.toml");
    let doc = config.header.take().unwrap_or_default();
    config.header = Some(format!(
        "{doc}\n#ifndef WEBEX_AUTH_H\n#define WEBEX_AUTH_H\n\n\
         /* The version of this header (the library's is wxa_version()). */\n\
         #define WXA_VERSION_MAJOR {major}\n#define WXA_VERSION_MINOR {minor}\n#define WXA_VERSION_PATCH {patch}\n\
         #define WXA_VERSION_STRING \"{version}\"\n\
         /* The ABI this header describes: wxa_init passes it to wxa_init_abi, which refuses a\n   \
         library of another ABI. Equal to the major version (docs/C-API.md, \"ABI policy\"). */\n\
         #define WXA_ABI_VERSION {major}\n{}",
        code_defines(&format!("{crate_dir}/src/codes.rs"))
    ));
    config.trailer = Some(
        "/* wxa_init as C and C++ hosts call it: passes the ABI version this header describes, so a\n   \
         library of another ABI refuses with WXA_ERR_INVALID_ARGUMENT instead of undefined behaviour\n   \
         (zlib's deflateInit does the same). The exported wxa_init symbol does no check; it is for\n   \
         hosts that bind by name (ctypes, dlsym) and check wxa_abi_version() themselves. */\n\
         #define wxa_init(config_json, on_event, user_data, out_client) \\\n    \
         wxa_init_abi(WXA_ABI_VERSION, (config_json), (on_event), (user_data), (out_client))\n\n\
         #endif /* WEBEX_AUTH_H */"
            .to_string(),
    );
    // Only the ffi module (cbindgen follows its `mod` items): the rest of the crate is
    // not part of the C API.
    let builder = cbindgen::Builder::new()
        .with_config(config)
        .with_language(cbindgen::Language::C)
        .with_src(format!("{crate_dir}/src/ffi/mod.rs"));
    let header = format!("{out_dir}/webex_auth.h");
    match builder.generate() {
        Ok(bindings) => {
            bindings.write_to_file(&header);
        }
        // A syntax error in src/ffi: let rustc report it rather than cbindgen.
        Err(e) => println!("cargo:warning=cbindgen could not generate the header: {e}"),
    }
    // Seen by the crate's tests (tests/header.rs) to compare with the committed copy.
    println!("cargo:rustc-env=WEBEX_AUTH_GENERATED_HEADER={header}");
}
