//! Named rule lists for the IdPs whose shapes we know, kept as TOML so an operator reads exactly
//! what a preset does (`tokenbridge check --explain` prints it) and parsed like any rule list.

pub(crate) const PRESETS: [(&str, &str); 8] = [
    ("zitadel", include_str!("presets/zitadel.toml")),
    ("keycloak", include_str!("presets/keycloak.toml")),
    ("authentik", include_str!("presets/authentik.toml")),
    ("entra", include_str!("presets/entra.toml")),
    ("cognito", include_str!("presets/cognito.toml")),
    ("google", include_str!("presets/google.toml")),
    ("okta", include_str!("presets/okta.toml")),
    ("auth0", include_str!("presets/auth0.toml")),
];

/// The TOML text of a preset.
pub(crate) fn preset(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(preset_name, _)| *preset_name == name)
        .map(|(_, text)| *text)
}

pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(name, _)| *name)
}
