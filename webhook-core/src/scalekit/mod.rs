//! The Scalekit event catalog, typed: [`ScalekitEvent`] and its `data` structs.
//!
//! Parse a verified body as [`Event<ScalekitEvent>`]: the envelope's `type` picks the `data`
//! struct while the body is parsed, in one pass (when `type` comes before `data`, as Scalekit
//! sends it; otherwise `data` is buffered once). A type this crate does not know (a new one, or
//! a legacy name such as `scalekit.org.create`) becomes [`ScalekitEvent::Unknown`] with its raw
//! `data`: a new event type never breaks a receiver.
//!
//! ```
//! use webhook_core::event::Event;
//! use webhook_core::scalekit::{self, samples, ScalekitEvent};
//!
//! let body = samples::sample("organization.directory.user_created").unwrap();
//! let event: Event<ScalekitEvent> = scalekit::parse(body.as_bytes())?;
//! match event.data {
//!     ScalekitEvent::DirectoryUserCreated(user) => println!("provision {}", user.id),
//!     ScalekitEvent::DirectoryUserDeleted(user) => println!("deprovision {}", user.id),
//!     other => println!("ignoring {}", other.event_type()),
//! }
//! # Ok::<(), webhook_core::EventError>(())
//! ```

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use time::OffsetDateTime;

use crate::EventError;
use crate::event::Event;

pub mod samples;
mod types;

pub use types::{
    Address, Attributes, ConnectedAccount, Connection, Device, Directory, DirectoryGroup,
    DirectoryUser, ExternalIdentity, Feature, GroupRef, Location, OrgMembership, Organization,
    OrganizationDomain, OrganizationSettings, Permission, Role, RoleRef, User, UserProfile,
    UserSession, UserSessionEvent,
};

/// Parses a verified Scalekit body into a typed event. Errors name the failing field.
pub fn parse(body: &[u8]) -> Result<Event<ScalekitEvent>, EventError> {
    crate::event::from_slice(body)
}

/// One catalog entry: the event type, the envelope's `object` and its `display_name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogEntry {
    /// The event type, e.g. `organization.directory.user_created`.
    pub event_type: &'static str,
    /// The envelope's `object`, e.g. `DirectoryUser`.
    pub object: &'static str,
    /// The envelope's `display_name`, e.g. `Directory User Created`.
    pub display_name: &'static str,
}

macro_rules! catalog {
    ($( $variant:ident($data:ty) = $name:literal, $object:literal, $display:literal; )*) => {
        /// A Scalekit event's `data`, typed by the envelope's `type`: one variant per documented
        /// event type, plus [`Unknown`](ScalekitEvent::Unknown) for anything else.
        ///
        /// Use it as [`Event<ScalekitEvent>`]; on its own it has no `type` to go by.
        /// Serializing writes the `data` only.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        #[allow(clippy::large_enum_variant)] // Boxing would cost an allocation per event.
        pub enum ScalekitEvent {
            $(
                #[doc = concat!("`", $name, "` (object `", $object, "`).")]
                $variant($data),
            )*
            /// An event type this crate does not know: a new one, or a legacy name
            /// (`scalekit.org.create`, `scalekit.dir.user.create`). Acknowledge it or look at
            /// `data` yourself.
            Unknown {
                /// The event type as sent.
                event_type: String,
                /// The `data` as sent.
                data: Value,
            },
        }

        impl ScalekitEvent {
            /// Every documented event type, with its `object` and `display_name`.
            pub const CATALOG: &'static [CatalogEntry] = &[
                $( CatalogEntry { event_type: $name, object: $object, display_name: $display }, )*
            ];

            /// The event type: the documented name, or the one an `Unknown` event was sent with.
            pub fn event_type(&self) -> &str {
                match self {
                    $( ScalekitEvent::$variant(_) => $name, )*
                    ScalekitEvent::Unknown { event_type, .. } => event_type,
                }
            }

            /// Reads `data` for `event_type` from any deserializer.
            fn deserialize_data<'de, D: Deserializer<'de>>(event_type: &str, data: D) -> Result<Self, D::Error> {
                match event_type {
                    $( $name => <$data>::deserialize(data).map(ScalekitEvent::$variant), )*
                    _ => Value::deserialize(data).map(|data| ScalekitEvent::Unknown { event_type: event_type.to_owned(), data }),
                }
            }
        }

        impl Serialize for ScalekitEvent {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( ScalekitEvent::$variant(data) => data.serialize(serializer), )*
                    ScalekitEvent::Unknown { data, .. } => data.serialize(serializer),
                }
            }
        }
    };
}

catalog! {
    OrganizationCreated(Organization) = "organization.created", "Organization", "Organization Created";
    OrganizationUpdated(Organization) = "organization.updated", "Organization", "Organization Updated";
    OrganizationDeleted(Organization) = "organization.deleted", "Organization", "Organization Deleted";
    DomainCreated(OrganizationDomain) = "organization.domain_created", "OrganizationDomain", "Organization Domain Created";
    DomainDeleted(OrganizationDomain) = "organization.domain_deleted", "OrganizationDomain", "Organization Domain Deleted";
    DomainDnsVerificationSuccess(OrganizationDomain) = "organization.domain_dns_verification_success", "OrganizationDomain", "Organization Domain DNS Verification Success";
    DomainDnsVerificationFailed(OrganizationDomain) = "organization.domain_dns_verification_failed", "OrganizationDomain", "Organization Domain DNS Verification Failed";
    DirectoryEnabled(Directory) = "organization.directory_enabled", "Directory", "Directory Enabled";
    DirectoryDisabled(Directory) = "organization.directory_disabled", "Directory", "Directory Disabled";
    DirectoryUserCreated(DirectoryUser) = "organization.directory.user_created", "DirectoryUser", "Directory User Created";
    DirectoryUserUpdated(DirectoryUser) = "organization.directory.user_updated", "DirectoryUser", "Directory User Updated";
    DirectoryUserDeleted(DirectoryUser) = "organization.directory.user_deleted", "DirectoryUser", "Directory User Deleted";
    DirectoryGroupCreated(DirectoryGroup) = "organization.directory.group_created", "DirectoryGroup", "Directory Group Created";
    DirectoryGroupUpdated(DirectoryGroup) = "organization.directory.group_updated", "DirectoryGroup", "Directory Group Updated";
    DirectoryGroupDeleted(DirectoryGroup) = "organization.directory.group_deleted", "DirectoryGroup", "Directory Group Deleted";
    SsoCreated(Connection) = "organization.sso_created", "Connection", "SSO Connection Created";
    SsoEnabled(Connection) = "organization.sso_enabled", "Connection", "SSO Connection Enabled";
    SsoDisabled(Connection) = "organization.sso_disabled", "Connection", "SSO Connection Disabled";
    SsoDeleted(Connection) = "organization.sso_deleted", "Connection", "SSO Connection Deleted";
    UserSignup(OrgMembership) = "user.signup", "OrgMembershipEvent", "User Signup";
    UserLogin(UserSessionEvent) = "user.login", "UserLoginEvent", "User Login";
    UserLogout(UserSessionEvent) = "user.logout", "UserLogoutEvent", "User Logout";
    UserOrganizationInvitation(OrgMembership) = "user.organization_invitation", "OrgMembershipEvent", "User Organization Invitation";
    UserOrganizationMembershipCreated(OrgMembership) = "user.organization_membership_created", "OrgMembershipEvent", "User Organization Membership Created";
    UserOrganizationMembershipUpdated(OrgMembership) = "user.organization_membership_updated", "OrgMembershipEvent", "User Organization Membership Updated";
    UserOrganizationMembershipDeleted(OrgMembership) = "user.organization_membership_deleted", "OrgMembershipEvent", "User Organization Membership Deleted";
    RoleCreated(Role) = "role.created", "Role", "Role Created";
    RoleUpdated(Role) = "role.updated", "Role", "Role Updated";
    RoleDeleted(Role) = "role.deleted", "Role", "Role Deleted";
    PermissionCreated(Permission) = "permission.created", "Permission", "Permission Created";
    PermissionUpdated(Permission) = "permission.updated", "Permission", "Permission Updated";
    PermissionDeleted(Permission) = "permission.deleted", "Permission", "Permission Deleted";
    ConnectedAccountCreated(ConnectedAccount) = "connected_account.created", "ConnectedAccount", "Connected Account Created";
    ConnectedAccountUpdated(ConnectedAccount) = "connected_account.updated", "ConnectedAccount", "Connected Account Updated";
    ConnectedAccountStatusUpdated(ConnectedAccount) = "connected_account.status_updated", "ConnectedAccount", "Connected Account Status Updated";
    ConnectedAccountDeleted(ConnectedAccount) = "connected_account.deleted", "ConnectedAccount", "Connected Account Deleted";
    ConnectedAccountMagicLinkGenerated(ConnectedAccount) = "connected_account.magic_link_generated", "ConnectedAccount", "Connected Account Magic Link Generated";
    ConnectedAccountOauthTokensFetched(ConnectedAccount) = "connected_account.oauth_tokens_fetched", "ConnectedAccount", "Connected Account OAuth Tokens Fetched";
    ConnectedAccountTokenRefreshSucceeded(ConnectedAccount) = "connected_account.token_refresh_succeeded", "ConnectedAccount", "Connected Account Token Refresh Succeeded";
    ConnectedAccountTokenRefreshFailed(ConnectedAccount) = "connected_account.token_refresh_failed", "ConnectedAccount", "Connected Account Token Refresh Failed";
    ConnectedAccountOauthSucceeded(ConnectedAccount) = "connected_account.oauth_succeeded", "ConnectedAccount", "Connected Account OAuth Succeeded";
}

impl ScalekitEvent {
    /// The catalog entry of a documented event type.
    ///
    /// ```
    /// use webhook_core::scalekit::ScalekitEvent;
    ///
    /// let entry = ScalekitEvent::catalog_entry("organization.directory.user_created").unwrap();
    /// assert_eq!((entry.object, entry.display_name), ("DirectoryUser", "Directory User Created"));
    /// assert!(!ScalekitEvent::is_known_type("scalekit.dir.user.create")); // a legacy name
    /// ```
    pub fn catalog_entry(event_type: &str) -> Option<&'static CatalogEntry> {
        Self::CATALOG.iter().find(|e| e.event_type == event_type)
    }

    /// Whether `event_type` is a documented type (typed by a variant other than `Unknown`).
    pub fn is_known_type(event_type: &str) -> bool {
        Self::catalog_entry(event_type).is_some()
    }

    /// Whether this is an [`Unknown`](ScalekitEvent::Unknown) event.
    pub fn is_unknown(&self) -> bool {
        matches!(self, ScalekitEvent::Unknown { .. })
    }

    /// Types `data` that was stored or received apart from its envelope.
    ///
    /// ```
    /// use serde_json::json;
    /// use webhook_core::scalekit::ScalekitEvent;
    ///
    /// let data = json!({ "id": "role_1", "name": "admin", "display_name": "Admin" });
    /// let event = ScalekitEvent::from_value("role.created", data.clone())?;
    /// assert!(matches!(&event, ScalekitEvent::RoleCreated(role) if role.name.as_deref() == Some("admin")));
    /// let unknown = ScalekitEvent::from_value("role.renamed", data)?;
    /// assert!(unknown.is_unknown());
    /// assert_eq!(unknown.event_type(), "role.renamed");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn from_value(event_type: &str, data: Value) -> Result<Self, serde_json::Error> {
        Self::deserialize_data(event_type, data)
    }
}

/// Deserializes `data` for a type read earlier in the same map.
struct DataSeed<'t>(&'t str);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = ScalekitEvent;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ScalekitEvent, D::Error> {
        ScalekitEvent::deserialize_data(self.0, deserializer)
    }
}

enum Field {
    SpecVersion,
    Id,
    Type,
    OccurredAt,
    EnvironmentId,
    OrganizationId,
    DisplayName,
    Object,
    Data,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "spec_version" => Field::SpecVersion,
                    "id" => Field::Id,
                    "type" => Field::Type,
                    "occurred_at" => Field::OccurredAt,
                    "environment_id" => Field::EnvironmentId,
                    "organization_id" => Field::OrganizationId,
                    "display_name" => Field::DisplayName,
                    "object" => Field::Object,
                    "data" => Field::Data,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

#[derive(Deserialize)]
struct Rfc3339(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);

const FIELDS: &[&str] = &[
    "spec_version",
    "id",
    "type",
    "occurred_at",
    "environment_id",
    "organization_id",
    "display_name",
    "object",
    "data",
];

impl<'de> Deserialize<'de> for Event<ScalekitEvent> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Event", FIELDS, EventVisitor)
    }
}

struct EventVisitor;

fn set<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    match slot.replace(value) {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event<ScalekitEvent>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Scalekit event envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut spec_version = None;
        let mut id = None;
        let mut event_type: Option<String> = None;
        let mut occurred_at = None;
        let mut environment_id = None;
        let mut organization_id: Option<Option<String>> = None;
        let mut display_name: Option<Option<String>> = None;
        let mut object = None;
        let mut data = None;
        // `data` seen before `type`: kept as a `Value` and typed at the end.
        let mut early_data: Option<Value> = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::SpecVersion => set(
                    &mut spec_version,
                    map.next_value::<String>()?,
                    "spec_version",
                )?,
                Field::Id => set(&mut id, map.next_value::<String>()?, "id")?,
                Field::Type => set(&mut event_type, map.next_value::<String>()?, "type")?,
                Field::OccurredAt => set(
                    &mut occurred_at,
                    map.next_value::<Rfc3339>()?.0,
                    "occurred_at",
                )?,
                Field::EnvironmentId => set(
                    &mut environment_id,
                    map.next_value::<String>()?,
                    "environment_id",
                )?,
                Field::OrganizationId => {
                    set(&mut organization_id, map.next_value()?, "organization_id")?
                }
                Field::DisplayName => set(&mut display_name, map.next_value()?, "display_name")?,
                Field::Object => set(&mut object, map.next_value::<String>()?, "object")?,
                Field::Data => {
                    if data.is_some() || early_data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    match &event_type {
                        Some(t) => data = Some(map.next_value_seed(DataSeed(t))?),
                        None => early_data = Some(map.next_value::<Value>()?),
                    }
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let event_type = event_type.ok_or_else(|| de::Error::missing_field("type"))?;
        let data = match (data, early_data) {
            (Some(data), _) => data,
            (None, Some(value)) => {
                type_buffered_data(&event_type, value).map_err(de::Error::custom)?
            }
            (None, None) => return Err(de::Error::missing_field("data")),
        };
        Ok(Event {
            spec_version: spec_version.ok_or_else(|| de::Error::missing_field("spec_version"))?,
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            event_type,
            occurred_at: occurred_at.ok_or_else(|| de::Error::missing_field("occurred_at"))?,
            environment_id: environment_id
                .ok_or_else(|| de::Error::missing_field("environment_id"))?,
            organization_id: organization_id.flatten(),
            display_name: display_name.flatten(),
            object: object.ok_or_else(|| de::Error::missing_field("object"))?,
            data,
        })
    }
}

/// Types `data` that came before `type`, naming the failing field in the message.
#[cold]
fn type_buffered_data(event_type: &str, value: Value) -> Result<ScalekitEvent, String> {
    let mut track = serde_path_to_error::Track::new();
    ScalekitEvent::deserialize_data(
        event_type,
        serde_path_to_error::Deserializer::new(value, &mut track),
    )
    .map_err(|e| {
        let path = track.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(".{path}")
        };
        format!("{}{at}: {e}", crate::event_error::BUFFERED_DATA)
    })
}
