//! The forms of `iss` an upstream accepts besides its `issuer`: exact aliases, and the issuers
//! of listed tenants made from a template. Each is an exact string once the config is read.

/// A form of `iss` an upstream accepts besides its `issuer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtherIssuer {
    /// The exact `iss`.
    pub issuer: String,
    /// How it came to be accepted.
    pub form: IssuerForm,
}

/// Why a token's `iss` names an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IssuerForm {
    /// An `issuer_aliases` entry (Google's `accounts.google.com` beside its URL).
    Alias,
    /// An `issuer_templates` entry with one of `allowed_tenants` in place of `{tid}`: the
    /// token's `tid` claim must name the same tenant.
    Tenant {
        /// The template, as configured.
        template: String,
        /// The tenant, as listed.
        tenant: String,
    },
}
