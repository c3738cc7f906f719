//! Realistic Scalekit event bodies, one for every documented type, after the examples in
//! Scalekit's OpenAPI `webhooks:` section: for tests, local development (`webhook send --type`)
//! and benchmarks.
//!
//! Bodies are compact JSON in the field order Scalekit sends (`type` before `data`).
//!
//! ```
//! use webhook_core::scalekit::{self, samples, ScalekitEvent};
//!
//! let body = samples::sample("user.login").unwrap();
//! let event = scalekit::parse(body.as_bytes())?;
//! assert!(matches!(event.data, ScalekitEvent::UserLogin(_)));
//! assert_eq!(samples::all().count(), ScalekitEvent::CATALOG.len());
//! assert!(samples::sample("scalekit.org.create").is_none());
//! # Ok::<(), webhook_core::EventError>(())
//! ```

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ScalekitEvent;

/// The environment id used in every sample.
pub const ENVIRONMENT_ID: &str = "env_53814739859406915";
/// The organization id used in every sample that has one.
pub const ORGANIZATION_ID: &str = "org_53879494091473415";
/// The `occurred_at` of [`sample`] bodies.
pub const OCCURRED_AT: &str = "2025-01-06T18:44:25.153954Z";

const ORGANIZATION: &str = r#"{"create_time":"2025-12-09T09:25:02.02Z","display_name":"AcmeCorp","external_id":"org_external_123","id":"org_53879494091473415","metadata":null,"region_code":"US","update_time":"2025-12-09T09:25:02.025330364Z","settings":{"features":[{"enabled":true,"name":"sso"},{"enabled":false,"name":"dir_sync"}]}}"#;
const ORGANIZATION_DELETED: &str = r#"{"create_time":"2025-12-09T09:25:02.02Z","deleted_at":"2025-12-09T10:25:45.337417Z","display_name":"AcmeCorp","external_id":"org_external_123","id":"org_53879494091473415","metadata":null,"region_code":"US","update_time":"2025-12-09T09:25:02.025330364Z","settings":{"features":[{"enabled":true,"name":"sso"},{"enabled":false,"name":"dir_sync"}]}}"#;

fn domain(status: &str) -> String {
    format!(
        r#"{{"id":"dom_1234567890","domain":"acmecorp.com","domain_type":"ORGANIZATION_DOMAIN","organization_id":"{ORGANIZATION_ID}","environment_id":"{ENVIRONMENT_ID}","txt_record_key":"scalekit-domain-verification","txt_record_secret":"<redacted>","verification_status":"{status}","verification_method":"DNS","create_time":"2025-01-06T18:40:02.123456789Z","update_time":"2025-01-06T18:44:25.153954Z"}}"#
    )
}

fn directory(enabled: bool) -> String {
    format!(
        r#"{{"directory_type":"SCIM","enabled":{enabled},"id":"dir_53879621145330183","organization_id":"{ORGANIZATION_ID}","provider":"OKTA","updated_at":"2025-01-06T18:45:21.04978184Z"}}"#
    )
}

const DIRECTORY_USER_CREATED: &str = r#"{"active":true,"cost_center":"Engineering-4410","custom_attributes":{"mobile_phone_number":"+1-555-579-4072","start_date":"2025-01-13"},"department":"Platform","division":"R&D","dp_id":"00u8f3k2qzXb6KJ7n5d7","email":"dayton.jaquelin@acmecorp.com","employee_id":"E-104233","family_name":"Jaquelin","given_name":"Dayton","groups":[{"id":"dirgroup_38862741498233423","name":"Engineering"},{"id":"dirgroup_38862741498233424","name":"Everyone"}],"id":"diruser_53891546960887884","language":"en","locale":"en-US","name":"Dayton Jaquelin","nickname":"Day","organization":"Acme Corp","organization_id":"org_53879494091473415","phone_number":"+1-555-579-4072","preferred_username":"dayton.jaquelin","profile":"https://intranet.acmecorp.com/people/dayton.jaquelin","raw_attributes":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"dayton.jaquelin@acmecorp.com","name":{"givenName":"Dayton","familyName":"Jaquelin"},"emails":[{"primary":true,"value":"dayton.jaquelin@acmecorp.com","type":"work"}],"active":true,"externalId":"00u8f3k2qzXb6KJ7n5d7"},"title":"Staff Engineer","user_type":"Employee","zoneinfo":"America/Araguaina","roles":[{"role_name":"member"}]}"#;
const DIRECTORY_USER_UPDATED: &str = r#"{"id":"diruser_53891546960887884","organization_id":"org_53879494091473415","dp_id":"00u8f3k2qzXb6KJ7n5d7","preferred_username":"dayton.jaquelin","email":"dayton.jaquelin@acmecorp.com","active":true,"name":"Dayton Jaquelin","roles":[{"role_name":"billing_admin"}],"groups":[{"id":"dirgroup_38862741498233423","name":"Engineering"}],"given_name":"Dayton","family_name":"Jaquelin","nickname":"Day","picture":"https://image.com/profile.jpg","phone_number":"1234567892","address":{"postal_code":"64112","state":"Missouri","formatted":"123, Oxford Lane, Kansas City, Missouri, 64112"},"custom_attributes":{"attribute1":"value1","attribute2":"value2"},"raw_attributes":{}}"#;
const DIRECTORY_USER_DELETED: &str = r#"{"id":"diruser_53891546960887884","organization_id":"org_53879494091473415","dp_id":"00u8f3k2qzXb6KJ7n5d7","email":"dayton.jaquelin@acmecorp.com"}"#;

fn directory_group(extra: &str) -> String {
    format!(
        r#"{{"directory_id":"dir_53879621145330183","display_name":"Engineering","external_id":null,"id":"dirgroup_38862741498233423","organization_id":"{ORGANIZATION_ID}","raw_attributes":{{}}{extra}}}"#
    )
}

fn connection(extra: &str) -> String {
    format!(
        r#"{{"id":"conn_94567862424830277","organization_id":"{ORGANIZATION_ID}","connection_type":"OIDC","provider":"OKTA"{extra}}}"#
    )
}

const USER: &str = r#"{"create_time":"2025-12-09T12:04:41.39Z","email":"john.doe@acmecorp.com","external_id":"ext_123456789","id":"usr_102701193205121289","last_login_time":"2025-12-09T12:04:41.48Z","metadata":{},"update_time":"2025-12-09T12:04:41.391988Z","user_profile":{"custom_attributes":null,"email_verified":true,"external_identities":[{"connection_id":"conn_97896332307464201","connection_provider":"GOOGLE","connection_type":"OAUTH","connection_user_id":"105055379523565727691","created_time":"2025-12-09T12:04:41.47Z","is_social":true,"last_login_time":"2025-12-09T12:04:41.469311Z","last_synced_time":"2025-12-09T12:04:41.469311Z","raw_attributes":"{}","updated_time":"2025-12-09T12:04:41.473087Z"}],"family_name":"Doe","gender":"","given_name":"John","groups":null,"id":"usp_102701193205186825","locale":"","metadata":{},"name":"John Doe","phone_number":"","phone_number_verified":false,"picture":"https://lh3.googleusercontent.com/a/abcdef","preferred_username":""}}"#;
const SESSION: &str = r#"{"absolute_expires_at":"2026-01-08T12:04:41.737394Z","authenticated_organizations":["org_53879494091473415"],"created_at":"2025-12-09T12:04:41.48Z","expired_at":null,"idle_expires_at":"2025-12-16T12:04:41.737395Z","last_active_at":"2025-12-09T12:04:41.747206Z","logout_at":null,"organization_id":"org_53879494091473415","session_id":"ses_102701193356116233","status":"ACTIVE","updated_at":"2025-12-09T12:04:41.748512Z","user_id":"usr_102701193205121289","device":{"browser":"Chrome","browser_version":"142.0.0.0","device_type":"Desktop","ip":"203.0.113.24","location":{"city":"Patna","latitude":"25.594095","longitude":"85.137564","region":"IN","region_subdivision":"INBR"},"os":"macOS","os_version":"10.15.7","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36"}}"#;

fn connected_account(status: &str, extra: &str) -> String {
    format!(
        r#"{{"authorization_type":"OAUTH","connection_id":"conn_133400101014995480","connection_name":"gmail","id":"ca_133400349586228019","identifier":"john@acmecorp.com","provider":"GMAIL","status":"{status}"{extra}}}"#
    )
}

/// The `data` of the sample for `event_type`, if it is a documented type.
pub fn data(event_type: &str) -> Option<String> {
    let data = match event_type {
        "organization.created" | "organization.updated" => ORGANIZATION.to_owned(),
        "organization.deleted" => ORGANIZATION_DELETED.to_owned(),
        "organization.domain_created" => domain("PENDING"),
        "organization.domain_deleted" | "organization.domain_dns_verification_success" => domain("VERIFIED"),
        "organization.domain_dns_verification_failed" => domain("FAILED"),
        "organization.directory_enabled" => directory(true),
        "organization.directory_disabled" => directory(false),
        "organization.directory.user_created" => DIRECTORY_USER_CREATED.to_owned(),
        "organization.directory.user_updated" => DIRECTORY_USER_UPDATED.to_owned(),
        "organization.directory.user_deleted" => DIRECTORY_USER_DELETED.to_owned(),
        "organization.directory.group_created" => directory_group(""),
        "organization.directory.group_updated" => directory_group(r#","dp_id":"00g1k2l3m4N5o6P7q8r9""#),
        "organization.directory.group_deleted" => directory_group(r#","dp_id":"7c66a173-79c6-4270-ac78-8f35a8121e0a""#),
        "organization.sso_created" | "organization.sso_deleted" => connection(""),
        "organization.sso_enabled" => connection(r#","enabled":true,"status":"COMPLETED""#),
        "organization.sso_disabled" => connection(r#","enabled":false,"status":"COMPLETED""#),
        "user.signup"
        | "user.organization_invitation"
        | "user.organization_membership_created"
        | "user.organization_membership_updated"
        | "user.organization_membership_deleted" => format!(r#"{{"organization":{ORGANIZATION},"user":{USER}}}"#),
        "user.login" | "user.logout" => format!(r#"{{"user":{USER},"user_session":{SESSION}}}"#),
        "role.created" | "role.updated" | "role.deleted" => {
            r#"{"description":"Viewer role with read-only access","display_name":"Viewer","extends":"member","id":"role_1234567890","name":"viewer"}"#.to_owned()
        }
        "permission.created" | "permission.updated" | "permission.deleted" => {
            r#"{"description":"Permission to manage data","id":"perm_1234567890","name":"data:manage"}"#.to_owned()
        }
        "connected_account.created" | "connected_account.magic_link_generated" | "connected_account.updated" => {
            connected_account("PENDING_AUTH", "")
        }
        "connected_account.status_updated" => connected_account("EXPIRED", r#","old_status":"ACTIVE""#),
        "connected_account.deleted" => connected_account(
            "ACTIVE",
            r#","last_used_at":"2025-12-02T06:00:01.374253Z","token_expires_at":"2025-12-02T06:59:57.237447Z""#,
        ),
        "connected_account.oauth_tokens_fetched"
        | "connected_account.token_refresh_succeeded"
        | "connected_account.token_refresh_failed"
        | "connected_account.oauth_succeeded" => {
            connected_account("ACTIVE", r#","token_expires_at":"2025-12-02T06:59:57.237447778Z""#)
        }
        _ => return None,
    };
    Some(data)
}

/// A full sample body for a documented `event_type`, with a fixed id and [`OCCURRED_AT`].
pub fn sample(event_type: &str) -> Option<String> {
    let index = ScalekitEvent::CATALOG
        .iter()
        .position(|e| e.event_type == event_type)?;
    envelope(
        event_type,
        &format!("evt_{}", 53_891_546_994_442_300_u64 + index as u64),
        OCCURRED_AT,
    )
}

/// A full sample body with the event id and time you choose (a fresh one per `send`).
///
/// ```
/// use webhook_core::scalekit::{self, samples};
/// use webhook_core::time::OffsetDateTime;
///
/// let at = OffsetDateTime::from_unix_timestamp(1_700_000_000)?;
/// let body = samples::sample_with("organization.created", "evt_1", at).unwrap();
/// let event = scalekit::parse(body.as_bytes())?;
/// assert_eq!((event.id.as_str(), event.occurred_at), ("evt_1", at));
/// assert_eq!(event.organization_id.as_deref(), Some(samples::ORGANIZATION_ID));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sample_with(
    event_type: &str,
    event_id: &str,
    occurred_at: OffsetDateTime,
) -> Option<String> {
    let occurred_at = occurred_at.format(&Rfc3339).ok()?;
    envelope(event_type, event_id, &occurred_at)
}

fn envelope(event_type: &str, event_id: &str, occurred_at: &str) -> Option<String> {
    let entry = ScalekitEvent::catalog_entry(event_type)?;
    let data = data(event_type)?;
    let org = match entry.object {
        "Role" | "Permission" | "ConnectedAccount" => String::new(),
        _ => format!(r#","organization_id":"{ORGANIZATION_ID}""#),
    };
    let id = serde_json::to_string(event_id).ok()?;
    Some(format!(
        r#"{{"spec_version":"1","id":{id},"type":"{event_type}","object":"{object}","occurred_at":"{occurred_at}","environment_id":"{ENVIRONMENT_ID}"{org},"data":{data},"display_name":"{display}"}}"#,
        object = entry.object,
        display = entry.display_name,
    ))
}

/// Every documented type with its sample body, in catalog order.
pub fn all() -> impl Iterator<Item = (&'static str, String)> {
    ScalekitEvent::CATALOG
        .iter()
        .filter_map(|e| Some((e.event_type, sample(e.event_type)?)))
}
