//! `#[derive(LiteRow)]`: decodes a row of paymesh's own SQLite driver
//! (`portals::server::db::lite`) into a struct, column by field name, the way
//! `#[derive(sqlx::FromRow)]` does for sqlx — and reading the same field attributes, so
//! one struct declares its columns once for both:
//!
//! * `#[sqlx(rename = "column")]` — the column's name when it differs from the field's;
//! * `#[sqlx(try_from = "Type")]` — the column is read as `Type` and converted with
//!   `TryFrom` (a status word into its enum, an instant into its text);
//! * `#[sqlx(flatten)]` — the field is a row type of its own, decoded from the same row
//!   (its columns by their names).
//!
//! Any other `sqlx` field attribute is refused at compile time rather than silently
//! decoded differently from sqlx.

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, parse_macro_input};

#[proc_macro_derive(LiteRow, attributes(sqlx))]
pub fn derive_lite_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// What a field's `sqlx` attributes say.
#[derive(Default)]
struct FieldSpec {
    rename: Option<String>,
    try_from: Option<syn::Type>,
    flatten: bool,
}

fn field_spec(field: &syn::Field) -> syn::Result<FieldSpec> {
    let mut spec = FieldSpec::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("sqlx")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                spec.rename = Some(meta.value()?.parse::<LitStr>()?.value());
                Ok(())
            } else if meta.path.is_ident("flatten") {
                spec.flatten = true;
                Ok(())
            } else if meta.path.is_ident("try_from") {
                spec.try_from = Some(meta.value()?.parse::<LitStr>()?.parse()?);
                Ok(())
            } else {
                Err(meta.error("LiteRow reads only `rename`, `try_from` and `flatten`"))
            }
        })?;
    }
    Ok(spec)
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            name,
            "LiteRow derives for structs only",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            name,
            "LiteRow derives for structs with named fields (tuples decode by position already)",
        ));
    };
    let mut inits = Vec::new();
    // Each field's position: where a query that selects the struct's columns in their
    // declared order has its column, tried before the search by name.
    for (position, field) in fields.named.iter().enumerate() {
        let ident = field.ident.as_ref().expect("named fields have names");
        let spec = field_spec(field)?;
        let column = spec
            .rename
            .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_owned());
        let ty = &field.ty;
        if spec.flatten {
            inits.push(quote! {
                #ident: <#ty as crate::server::db::lite::LiteRow>::from_lite(row)?
            });
            continue;
        }
        inits.push(match spec.try_from {
            Some(read) => quote! {
                #ident: crate::server::db::lite::column_try::<#read, #ty>(row, #column, #position)?
            },
            None => quote! {
                #ident: crate::server::db::lite::column::<#ty>(row, #column, #position)?
            },
        });
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics crate::server::db::lite::LiteRow for #name #ty_generics #where_clause {
            fn from_lite(
                row: &::rusqlite::Row<'_>,
            ) -> ::std::result::Result<Self, crate::server::db::lite::DecodeError> {
                ::std::result::Result::Ok(Self { #(#inits),* })
            }
        }
    })
}
