//! The `data` structs of Scalekit events, after the examples and schemas in Scalekit's OpenAPI
//! (`webhooks:` section).
//!
//! Every field the documentation does not require is an `Option` (or an empty collection when
//! absent or `null`); unknown fields are ignored. Timestamps are [`OffsetDateTime`]s parsed as
//! RFC 3339; an empty string or `null` reads as `None`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// A JSON object with free-form content (`custom_attributes`, `raw_attributes`, `metadata`).
pub type Attributes = Map<String, Value>;

/// `null` and absent read as the default value.
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Optional RFC 3339 timestamps; `null`, absent and `""` read as `None`.
mod opt_time {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let s = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        match s.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => OffsetDateTime::parse(s, &Rfc3339).map(Some).map_err(|e| {
                serde::de::Error::custom(format_args!("not an RFC 3339 timestamp: {e}"))
            }),
        }
    }

    pub(super) fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::option::serialize(value, serializer)
    }
}

/// An organization (`organization.created`, `organization.updated`, `organization.deleted`, and
/// the `organization` of [`OrgMembership`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Organization {
    /// `org_…`.
    pub id: String,
    /// The organization's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Your own id for the organization, if you set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Data region, e.g. `US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_code: Option<String>,
    /// Your metadata.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub metadata: Attributes,
    /// Feature settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<OrganizationSettings>,
    /// When it was created.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub create_time: Option<OffsetDateTime>,
    /// When it was last updated.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub update_time: Option<OffsetDateTime>,
    /// When it was deleted (`organization.deleted`).
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<OffsetDateTime>,
}

/// An organization's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationSettings {
    /// Features and whether they are enabled (`sso`, `dir_sync`).
    #[serde(default, deserialize_with = "null_default")]
    pub features: Vec<Feature>,
}

/// A feature flag of an organization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Feature {
    /// `sso`, `dir_sync`, …
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Whether it is enabled (`null` or absent: not).
    #[serde(default, deserialize_with = "null_default")]
    pub enabled: bool,
}

/// A domain of an organization (`organization.domain_*`; the envelope's `object` says
/// `OrganizationDomain`).
///
/// `txt_record_secret` is sensitive: `Debug` redacts it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationDomain {
    /// `dom_…`.
    pub id: String,
    /// The domain, e.g. `acmecorp.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `ORGANIZATION_DOMAIN` or `ALLOWED_EMAIL_DOMAIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_type: Option<String>,
    /// `org_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// `env_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    /// Name of the DNS TXT record to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txt_record_key: Option<String>,
    /// Value of the DNS TXT record. Sensitive: do not log it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txt_record_secret: Option<String>,
    /// `PENDING`, `VERIFIED`, `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_status: Option<String>,
    /// `DNS`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_method: Option<String>,
    /// When it was added.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub create_time: Option<OffsetDateTime>,
    /// When its status last changed (for `organization.domain_deleted`, the deletion).
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub update_time: Option<OffsetDateTime>,
    /// When it was last updated, under the name Scalekit's API schema gives it; the webhook
    /// reference sends `update_time`.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<OffsetDateTime>,
}

impl fmt::Debug for OrganizationDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrganizationDomain")
            .field("id", &self.id)
            .field("domain", &self.domain)
            .field("domain_type", &self.domain_type)
            .field("organization_id", &self.organization_id)
            .field("environment_id", &self.environment_id)
            .field("txt_record_key", &self.txt_record_key)
            .field(
                "txt_record_secret",
                &self.txt_record_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("verification_status", &self.verification_status)
            .field("verification_method", &self.verification_method)
            .field("create_time", &self.create_time)
            .field("update_time", &self.update_time)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A directory (SCIM or other) of an organization (`organization.directory_enabled`,
/// `organization.directory_disabled`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Directory {
    /// `dir_…`.
    pub id: String,
    /// `org_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// `SCIM`, `LDAP`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_type: Option<String>,
    /// The identity provider: `OKTA`, `MICROSOFT_AD`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Whether the directory is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// When it was last updated.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<OffsetDateTime>,
}

/// A user provisioned through a directory (`organization.directory.user_*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DirectoryUser {
    /// `diruser_…`.
    pub id: String,
    /// `org_…`.
    pub organization_id: String,
    /// Whether the user is active in the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Primary email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User name at the identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// The user's id at the directory provider (SCIM `externalId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp_id: Option<String>,
    /// Employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Cost center.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// Division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// Organization name from the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// User type (`Employee`, `Contractor`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Preferred language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Time zone, e.g. `America/Araguaina`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    /// Profile URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Picture URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The directory groups the user belongs to.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<GroupRef>,
    /// The roles mapped to the user from their groups.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub roles: Vec<RoleRef>,
    /// Attributes mapped in the Scalekit dashboard.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub custom_attributes: Attributes,
    /// The attributes exactly as the directory provider sent them.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub raw_attributes: Attributes,
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Address {
    /// The whole address on one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A group a directory user belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupRef {
    /// `dirgroup_…`.
    pub id: String,
    /// The group's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A role assigned to a directory user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleRef {
    /// The role's name, e.g. `billing_admin`.
    pub role_name: String,
}

/// A group provisioned through a directory (`organization.directory.group_*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DirectoryGroup {
    /// `dirgroup_…`.
    pub id: String,
    /// `org_…`.
    pub organization_id: String,
    /// `dir_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_id: Option<String>,
    /// The group's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The group's id in your system, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The group's id at the directory provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp_id: Option<String>,
    /// The attributes exactly as the directory provider sent them.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub raw_attributes: Attributes,
}

/// An SSO connection of an organization (`organization.sso_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Connection {
    /// `conn_…`.
    pub id: String,
    /// `org_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// `OIDC`, `SAML`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    /// The identity provider: `OKTA`, `GOOGLE`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Whether the connection is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Configuration status, e.g. `COMPLETED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A user and an organization they belong to or are invited to (`user.signup`,
/// `user.organization_invitation`, `user.organization_membership_*`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrgMembership {
    /// The organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    /// The user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

/// A user and their session (`user.login`, `user.logout`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserSessionEvent {
    /// The user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The session that was created or ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_session: Option<UserSession>,
}

/// A Scalekit user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// `usr_…`.
    pub id: String,
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Your own id for the user, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Your metadata.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub metadata: Attributes,
    /// The user's profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_profile: Option<UserProfile>,
    /// When the user was created.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub create_time: Option<OffsetDateTime>,
    /// When the user was last updated.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub update_time: Option<OffsetDateTime>,
    /// When the user last logged in.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_login_time: Option<OffsetDateTime>,
}

/// A user's profile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserProfile {
    /// `usp_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Preferred user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Whether the email address was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Whether the phone number was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
    /// Picture URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Group names, when the identity provider sends them.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<Value>,
    /// Custom attributes.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub custom_attributes: Attributes,
    /// Your metadata.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub metadata: Attributes,
    /// The identities (social or enterprise logins) linked to the user.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub external_identities: Vec<ExternalIdentity>,
}

/// A login identity linked to a user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExternalIdentity {
    /// `conn_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// `GOOGLE`, `OKTA`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_provider: Option<String>,
    /// `OAUTH`, `OIDC`, `SAML`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    /// The user's id at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_user_id: Option<String>,
    /// Whether it is a social login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_social: Option<bool>,
    /// The provider's raw attributes (Scalekit sends them JSON-encoded in a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_attributes: Option<Value>,
    /// When the identity was linked.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub created_time: Option<OffsetDateTime>,
    /// When it was last updated.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub updated_time: Option<OffsetDateTime>,
    /// Last login through this identity.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_login_time: Option<OffsetDateTime>,
    /// Last sync from the provider.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_synced_time: Option<OffsetDateTime>,
}

/// A user session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserSession {
    /// `ses_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// `usr_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The organization the session is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// `ACTIVE`, `EXPIRED`, `LOGGED_OUT`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Organizations the session has authenticated to.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub authenticated_organizations: Vec<String>,
    /// The device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// Created.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<OffsetDateTime>,
    /// Updated.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<OffsetDateTime>,
    /// Last activity.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_active_at: Option<OffsetDateTime>,
    /// When the idle timeout ends it.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub idle_expires_at: Option<OffsetDateTime>,
    /// When the absolute timeout ends it.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub absolute_expires_at: Option<OffsetDateTime>,
    /// When it expired.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<OffsetDateTime>,
    /// When the user logged out.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub logout_at: Option<OffsetDateTime>,
}

/// The device of a session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Device {
    /// Browser name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// Browser version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_version: Option<String>,
    /// `Desktop`, `Mobile`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Operating system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Operating system version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// User agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Location from the IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A location derived from an IP address. Coordinates are strings, as Scalekit sends them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Location {
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Region (country) code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Subdivision code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_subdivision: Option<String>,
    /// Latitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<String>,
    /// Longitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<String>,
}

/// A role (`role.*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Role {
    /// `role_…`.
    pub id: String,
    /// The role's name, e.g. `viewer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The role it inherits permissions from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
}

/// A permission (`permission.*`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Permission {
    /// `perm_…`.
    pub id: String,
    /// The permission's name, e.g. `data:manage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A connected account of Scalekit's agent connectors (`connected_account.*`). Tokens are never
/// part of the event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectedAccount {
    /// `ca_…`.
    pub id: String,
    /// `conn_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    /// The connection's name, e.g. `gmail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
    /// The account's identifier at the provider (an email, a user name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// `GMAIL`, `GOOGLE_ADS`, `CANVA`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `OAUTH`, `API_KEY`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_type: Option<String>,
    /// `PENDING_AUTH`, `ACTIVE`, `EXPIRED`, `DISCONNECTED`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The status before the change (`connected_account.status_updated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_status: Option<String>,
    /// Last use.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When the current access token expires.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_empty_times_are_tolerated() {
        let u: DirectoryUser = serde_json::from_str(
            r#"{"id":"diruser_1","organization_id":"org_1","groups":null,"roles":null,"custom_attributes":null,"unknown":[1,2]}"#,
        )
        .unwrap();
        assert!(u.groups.is_empty() && u.custom_attributes.is_empty());
        let o: Organization = serde_json::from_str(
            r#"{"id":"org_1","metadata":null,"create_time":"","update_time":null}"#,
        )
        .unwrap();
        assert_eq!(o.create_time, None);
        assert!(
            serde_json::from_str::<Organization>(r#"{"id":"org_1","create_time":"monday"}"#)
                .is_err()
        );
    }

    #[test]
    fn domain_debug_redacts_the_txt_secret() {
        let d = OrganizationDomain {
            id: "dom_1".into(),
            txt_record_secret: Some("s3cr3t-value".into()),
            ..Default::default()
        };
        let shown = format!("{d:?}");
        assert!(
            !shown.contains("s3cr3t-value") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
