//! An upstream's other issuers: `issuer_aliases` (exact strings) and `issuer_templates` with
//! `allowed_tenants`, expanded here to one exact issuer per tenant. Only forms the operator
//! lists: a wildcard, a second placeholder or a tenant alias like Entra's `common` is refused.

use super::upstreams::check_issuer_url;
use crate::config::error::Problems;
use crate::config::{IssuerForm, OtherIssuer};

/// The placeholder an issuer template names the tenant with.
const TENANT_PLACEHOLDER: &str = "{tid}";

/// Entra's names for "any tenant": never a tenant a token's `tid` can hold.
const NOT_TENANTS: [&str; 3] = ["common", "organizations", "consumers"];

/// What one `[[upstream]]` says of its other issuers, as written.
pub(super) struct IssuerFormsFile<'a> {
    pub label: &'a str,
    pub issuer: &'a str,
    pub aliases: Option<Vec<String>>,
    pub templates: Option<Vec<String>>,
    pub tenants: Option<Vec<String>>,
    pub is_http_allowed: bool,
}

pub(super) fn other_issuers(
    file: IssuerFormsFile<'_>,
    problems: &mut Problems,
) -> Vec<OtherIssuer> {
    let label = file.label;
    let mut others = Vec::new();
    if has_wildcard(file.issuer) {
        problems.add(
            format!("{label}.issuer"),
            "an issuer is an exact string: no '*' and no '{}' placeholder (see issuer_templates)",
        );
    }
    for alias in file.aliases.unwrap_or_default() {
        let key = format!("{label}.issuer_aliases");
        if alias.is_empty() || alias.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems.add(key, format!("{alias:?} is not an issuer"));
        } else if has_wildcard(&alias) {
            problems.add(
                key,
                format!("{alias:?}: an alias is an exact string, without '*' or '{{}}'"),
            );
        } else if alias == file.issuer {
            problems.add(key, format!("{alias:?} is the issuer itself"));
        } else {
            others.push(OtherIssuer {
                issuer: alias,
                form: IssuerForm::Alias,
            });
        }
    }
    let templates = file.templates.unwrap_or_default();
    let tenants = file.tenants.unwrap_or_default();
    match (templates.is_empty(), tenants.is_empty()) {
        (true, false) => problems.add(
            format!("{label}.allowed_tenants"),
            "lists tenants but there is no issuer_templates entry to put them in",
        ),
        (false, true) => problems.add(
            format!("{label}.allowed_tenants"),
            "an issuer template needs the explicit list of the tenants it accepts",
        ),
        _ => {}
    }
    let tenants_key = format!("{label}.allowed_tenants");
    let valid_tenants: Vec<&String> = tenants
        .iter()
        .filter(|tenant| {
            let is_tenant = is_tenant_id(tenant);
            if !is_tenant {
                problems.add(
                    &tenants_key,
                    format!("{tenant:?} is not a tenant id (letters, digits, '-', '.', '_'; not common, organizations or consumers)"),
                );
            }
            is_tenant
        })
        .collect();
    for template in templates {
        let key = format!("{label}.issuer_templates");
        if template.matches(TENANT_PLACEHOLDER).count() != 1 {
            problems.add(
                key,
                format!("{template:?} must name {TENANT_PLACEHOLDER} exactly once"),
            );
            continue;
        }
        if has_wildcard(&template.replace(TENANT_PLACEHOLDER, "")) {
            problems.add(
                key,
                format!(
                    "{template:?}: only {TENANT_PLACEHOLDER} may vary, no '*' or other placeholder"
                ),
            );
            continue;
        }
        // The template as a URL with a tenant in place: its problems, if any, are the issuer's.
        let sample = template.replace(TENANT_PLACEHOLDER, "tenant");
        if check_issuer_url(&sample, file.is_http_allowed, &key, problems).is_none() {
            continue;
        }
        for tenant in &valid_tenants {
            others.push(OtherIssuer {
                issuer: template.replace(TENANT_PLACEHOLDER, tenant),
                form: IssuerForm::Tenant {
                    template: template.clone(),
                    tenant: (*tenant).clone(),
                },
            });
        }
    }
    others
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '{', '}'])
}

fn is_tenant_id(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        && !NOT_TENANTS.contains(&tenant.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests;
