//! Typed events: the Scalekit envelope and catalog, unknown and legacy types, 422 errors that
//! name the field, and `Delivery::json` on really verified deliveries.

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use webhook_core::event::{Event, from_slice};
use webhook_core::scalekit::{self, DirectoryGroup, DirectoryUser, ScalekitEvent, samples};
use webhook_core::{Delivery, EventError, EventFilter, Rejection, Signer, Verifier};

/// The shape of the envelope on Scalekit's webhook best-practices page.
const BEST_PRACTICES: &str = r#"{
  "spec_version": "1",
  "id": "evt_test_123",
  "type": "organization.directory.user_created",
  "occurred_at": "2024-01-15T10:30:00.123456789Z",
  "environment_id": "env_test_123",
  "organization_id": "org_test_123",
  "object": "DirectoryUser",
  "data": {
    "id": "diruser_test_123",
    "organization_id": "org_test_123",
    "email": "test@example.com",
    "given_name": "Test",
    "family_name": "User",
    "active": true
  }
}"#;

fn envelope(event_type: &str, data: &str) -> String {
    format!(
        r#"{{"spec_version":"1","id":"evt_1","type":"{event_type}","occurred_at":"2025-01-06T18:44:25.153954Z","environment_id":"env_1","organization_id":"org_1","object":"X","data":{data}}}"#
    )
}

#[test]
fn best_practices_envelope() {
    let event = scalekit::parse(BEST_PRACTICES.as_bytes()).unwrap();
    assert_eq!(event.id, "evt_test_123");
    assert_eq!(event.spec_version, "1");
    assert_eq!(event.environment_id, "env_test_123");
    assert_eq!(event.organization_id.as_deref(), Some("org_test_123"));
    assert_eq!(event.display_name, None);
    assert_eq!(event.object, "DirectoryUser");
    assert_eq!(event.occurred_at.unix_timestamp(), 1_705_314_600);
    assert_eq!(event.occurred_at.nanosecond(), 123_456_789);
    let ScalekitEvent::DirectoryUserCreated(user) = &event.data else {
        panic!("{:?}", event.data)
    };
    assert_eq!(user.id, "diruser_test_123");
    assert_eq!(user.email.as_deref(), Some("test@example.com"));
    assert_eq!(user.given_name.as_deref(), Some("Test"));
    assert_eq!(user.active, Some(true));
    assert!(user.groups.is_empty() && user.roles.is_empty());
}

/// Payloads copied verbatim from Scalekit's webhook reference (scalekit-inc/developer-docs,
/// `src/content/docs/reference/webhooks/organization-events.mdx` and `user-events.mdx`): keys in
/// alphabetical order, so `data` comes after `type`, and the fields as documented.
const REFERENCE_DOMAIN_CREATED: &str = r#"{
  "environment_id": "env_1234567890",
  "id": "evt_4567890123",
  "object": "OrganizationDomain",
  "occurred_at": "2024-01-15T11:00:00.123456789Z",
  "organization_id": "org_1234567890",
  "spec_version": "1",
  "type": "organization.domain_created",
  "data": {
    "id": "dom_1234567890",
    "domain": "acmecorp.com",
    "domain_type": "ORGANIZATION_DOMAIN",
    "verification_status": "PENDING",
    "verification_method": "DNS",
    "create_time": "2024-01-15T11:00:00.123456789Z",
    "update_time": "2024-01-15T11:00:00.123456789Z"
  }
}"#;

const REFERENCE_ORGANIZATION_CREATED: &str = r#"{
  "environment_id": "env_1234567890",
  "id": "evt_1234567890",
  "object": "Organization",
  "occurred_at": "2024-01-15T10:30:00.123456789Z",
  "organization_id": "org_1234567890",
  "spec_version": "1",
  "type": "organization.created",
  "data": {
    "create_time": "2025-12-09T09:25:02.02Z",
    "display_name": "AcmeCorp",
    "external_id": "org_external_123",
    "id": "org_1234567890",
    "metadata": null,
    "region_code": "US",
    "update_time": "2025-12-09T09:25:02.025330364Z",
    "settings": {
      "features": [
        { "enabled": true, "name": "sso" },
        { "enabled": false, "name": "dir_sync" }
      ]
    }
  }
}"#;

const REFERENCE_USER_LOGIN: &str = r#"{
  "environment_id": "env_1234567890",
  "id": "evt_2345678901",
  "object": "UserLoginEvent",
  "occurred_at": "2024-01-15T10:35:00.123456789Z",
  "spec_version": "1",
  "type": "user.login",
  "data": {
    "user": {
      "create_time": "2024-01-15T10:30:00Z",
      "email": "user@example.com",
      "id": "usr_1234567890",
      "update_time": "2024-01-15T10:30:00Z",
      "user_profile": {
        "email_verified": true,
        "family_name": "Doe",
        "given_name": "John",
        "id": "usp_1234567890",
        "name": "John Doe"
      }
    }
  }
}"#;

#[test]
fn scalekits_reference_payloads_parse_with_their_fields() {
    let event = scalekit::parse(REFERENCE_DOMAIN_CREATED.as_bytes()).unwrap();
    assert_eq!(
        event.object,
        ScalekitEvent::catalog_entry("organization.domain_created")
            .unwrap()
            .object
    );
    let ScalekitEvent::DomainCreated(domain) = event.data else {
        panic!("{:?}", event.data)
    };
    assert_eq!(domain.domain.as_deref(), Some("acmecorp.com"));
    assert_eq!(domain.verification_status.as_deref(), Some("PENDING"));
    let created = domain.create_time.expect("create_time read");
    assert_eq!((created.year(), created.nanosecond()), (2024, 123_456_789));
    assert!(domain.update_time.is_some());

    let event = scalekit::parse(REFERENCE_ORGANIZATION_CREATED.as_bytes()).unwrap();
    let ScalekitEvent::OrganizationCreated(org) = event.data else {
        panic!("{:?}", event.data)
    };
    assert_eq!(org.display_name.as_deref(), Some("AcmeCorp"));
    let features = &org.settings.as_ref().unwrap().features;
    assert_eq!(
        features
            .iter()
            .map(|f| (f.name.as_str(), f.enabled))
            .collect::<Vec<_>>(),
        [("sso", true), ("dir_sync", false)]
    );

    let event = scalekit::parse(REFERENCE_USER_LOGIN.as_bytes()).unwrap();
    assert_eq!(
        event.object,
        ScalekitEvent::catalog_entry("user.login").unwrap().object
    );
    let ScalekitEvent::UserLogin(login) = event.data else {
        panic!("{:?}", event.data)
    };
    let user = login.user.unwrap();
    assert_eq!(user.id, "usr_1234567890");
    assert_eq!(user.user_profile.unwrap().name.as_deref(), Some("John Doe"));
}

/// A feature Scalekit sends with `null` for its name or its flag does not fail the whole event.
#[test]
fn null_feature_fields_read_as_defaults() {
    let body = envelope(
        "organization.updated",
        r#"{"id":"org_1","settings":{"features":[{"name":null,"enabled":null},{"name":"sso"}]}}"#,
    );
    let event = scalekit::parse(body.as_bytes()).unwrap();
    let ScalekitEvent::OrganizationUpdated(org) = event.data else {
        panic!("{:?}", event.data)
    };
    let features = &org.settings.unwrap().features;
    assert_eq!(
        features
            .iter()
            .map(|f| (f.name.as_str(), f.enabled))
            .collect::<Vec<_>>(),
        [("", false), ("sso", false)]
    );
}

#[test]
fn every_catalog_type_deserializes_from_its_sample() {
    assert_eq!(ScalekitEvent::CATALOG.len(), 41);
    for entry in ScalekitEvent::CATALOG {
        let body = samples::sample(entry.event_type).unwrap();
        let event = scalekit::parse(body.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", entry.event_type));
        assert!(!event.data.is_unknown(), "{}", entry.event_type);
        assert_eq!(event.data.event_type(), entry.event_type);
        assert_eq!(event.event_type, entry.event_type);
        assert_eq!(event.object, entry.object);
        assert_eq!(event.display_name.as_deref(), Some(entry.display_name));
        assert!(event.id.starts_with("evt_"));

        // Serializing writes the same data back: parse → serialize → parse is stable.
        let again = scalekit::parse(serde_json::to_string(&event).unwrap().as_bytes()).unwrap();
        assert_eq!(again, event, "{}", entry.event_type);

        // The same body reads as Value and as borrowed raw data.
        let generic: Event<Value> = from_slice(body.as_bytes()).unwrap();
        assert_eq!(generic.event_type, entry.event_type);
        let raw: Event<&RawValue> = from_slice(body.as_bytes()).unwrap();
        assert_eq!(
            ScalekitEvent::from_value(
                entry.event_type,
                serde_json::from_str(raw.data.get()).unwrap()
            )
            .unwrap(),
            event.data
        );
    }
}

#[test]
fn catalog_fields_are_typed() {
    let login = scalekit::parse(samples::sample("user.login").unwrap().as_bytes()).unwrap();
    let ScalekitEvent::UserLogin(login) = login.data else {
        panic!()
    };
    let user = login.user.unwrap();
    assert_eq!(user.id, "usr_102701193205121289");
    let profile = user.user_profile.unwrap();
    assert_eq!(profile.email_verified, Some(true));
    assert_eq!(
        profile.external_identities[0]
            .connection_provider
            .as_deref(),
        Some("GOOGLE")
    );
    let session = login.user_session.unwrap();
    assert_eq!(session.status.as_deref(), Some("ACTIVE"));
    assert_eq!(session.expired_at, None);
    assert_eq!(
        session.device.unwrap().location.unwrap().city.as_deref(),
        Some("Patna")
    );

    let signup = scalekit::parse(samples::sample("user.signup").unwrap().as_bytes()).unwrap();
    let ScalekitEvent::UserSignup(m) = signup.data else {
        panic!()
    };
    let org = m.organization.unwrap();
    assert_eq!(org.settings.unwrap().features.len(), 2);
    assert!(org.metadata.is_empty());

    let created = scalekit::parse(
        samples::sample("organization.directory.user_created")
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let ScalekitEvent::DirectoryUserCreated(u) = created.data else {
        panic!()
    };
    assert_eq!(u.groups.len(), 2);
    assert_eq!(u.roles[0].role_name, "member");
    assert_eq!(u.raw_attributes["userName"], "dayton.jaquelin@acmecorp.com");
    assert_eq!(
        u.custom_attributes["mobile_phone_number"],
        "+1-555-579-4072"
    );

    let updated = scalekit::parse(
        samples::sample("organization.directory.user_updated")
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let ScalekitEvent::DirectoryUserUpdated(u) = updated.data else {
        panic!()
    };
    assert_eq!(u.address.unwrap().postal_code.as_deref(), Some("64112"));

    let status = scalekit::parse(
        samples::sample("connected_account.status_updated")
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let ScalekitEvent::ConnectedAccountStatusUpdated(ca) = status.data else {
        panic!()
    };
    assert_eq!(
        (ca.old_status.as_deref(), ca.status.as_deref()),
        (Some("ACTIVE"), Some("EXPIRED"))
    );

    let deleted =
        scalekit::parse(samples::sample("organization.deleted").unwrap().as_bytes()).unwrap();
    let ScalekitEvent::OrganizationDeleted(org) = deleted.data else {
        panic!()
    };
    assert!(org.deleted_at.is_some());

    let domain = scalekit::parse(
        samples::sample("organization.domain_created")
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let ScalekitEvent::DomainCreated(d) = domain.data else {
        panic!()
    };
    assert_eq!(d.verification_status.as_deref(), Some("PENDING"));
}

#[test]
fn unknown_and_legacy_types_land_in_unknown() {
    for t in [
        "scalekit.org.create",
        "scalekit.dir.user.create",
        "scalekit.dir.user.delete",
        "user.created",
        "organization.directory.user_suspended",
        "",
    ] {
        let body = envelope(t, r#"{"id":"x","anything":[1,{"deep":true}]}"#);
        let event = scalekit::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{t}: {e}"));
        let ScalekitEvent::Unknown { event_type, data } = &event.data else {
            panic!("{t}: {:?}", event.data)
        };
        assert_eq!(event_type, t);
        assert_eq!(data["anything"][1]["deep"], true);
        assert_eq!(event.data.event_type(), t);
        assert!(!ScalekitEvent::is_known_type(t));
    }
    // Unknown types accept any data, even a non-object.
    let event = scalekit::parse(envelope("brand.new", "[1,2,3]").as_bytes()).unwrap();
    assert!(event.data.is_unknown());
}

#[test]
fn unknown_fields_are_ignored() {
    let body = envelope(
        "organization.directory.group_created",
        r#"{"id":"dirgroup_1","organization_id":"org_1","new_field":{"nested":[1,2]},"display_name":"Admins"}"#,
    )
    .replace(r#""spec_version":"1","#, r#""spec_version":"1","future_envelope_field":{"a":1},"#);
    let event = scalekit::parse(body.as_bytes()).unwrap();
    let ScalekitEvent::DirectoryGroupCreated(group) = event.data else {
        panic!()
    };
    assert_eq!(group.display_name.as_deref(), Some("Admins"));
}

#[test]
fn data_before_type_is_still_typed() {
    let body = r#"{"data":{"id":"diruser_1","organization_id":"org_1","email":"a@b.c"},"spec_version":"1","id":"evt_1","type":"organization.directory.user_deleted","occurred_at":"2025-01-06T18:44:25Z","environment_id":"env_1","object":"DirectoryUser"}"#;
    let event = scalekit::parse(body.as_bytes()).unwrap();
    let ScalekitEvent::DirectoryUserDeleted(user) = event.data else {
        panic!()
    };
    assert_eq!(user.email.as_deref(), Some("a@b.c"));

    let bad = body.replace(r#""email":"a@b.c""#, r#""email":42"#);
    let err = scalekit::parse(bad.as_bytes()).unwrap_err();
    assert_eq!(err.status(), 422);
    // The same path as when `type` comes first.
    assert_eq!(err.path(), Some("data.email"), "{err}");
    assert!(
        err.to_string()
            .contains("field `data.email` does not fit: invalid type"),
        "{err}"
    );
}

#[test]
fn known_type_with_bad_data_is_a_422_naming_the_field() {
    let cases = [
        // (data, expected path, words in the reason)
        (
            r#"{"organization_id":"org_1"}"#,
            "data",
            "missing field `id`",
        ),
        (
            r#"{"id":"diruser_1","organization_id":"org_1","active":"yes"}"#,
            "data.active",
            "expected a boolean",
        ),
        (
            r#"{"id":"diruser_1","organization_id":"org_1","groups":[{"name":"x"}]}"#,
            "data.groups[0]",
            "missing field `id`",
        ),
        (
            r#"{"id":"diruser_1","organization_id":"org_1","email":["secret@example.com"]}"#,
            "data.email",
            "invalid type",
        ),
        (r#""just a string""#, "data", "invalid type"),
    ];
    for (data, path, reason) in cases {
        let body = envelope("organization.directory.user_created", data);
        let err = scalekit::parse(body.as_bytes()).unwrap_err();
        let EventError::InvalidData {
            event_type,
            path: p,
            reason: r,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            event_type.as_deref(),
            Some("organization.directory.user_created")
        );
        assert_eq!(p, path, "{data}");
        assert!(r.contains(reason), "{r}");
        assert_eq!(err.status(), 422);
        assert_eq!(err.code(), "invalid_event_data");
        // Values from the body never show in the message.
        assert!(
            !err.to_string().contains("yes") && !err.to_string().contains("just a string"),
            "{err}"
        );
    }
    // The same data under an unknown type is fine.
    assert!(scalekit::parse(envelope("x.y", r#"{"active":"yes"}"#).as_bytes()).is_ok());
}

#[test]
fn bad_envelopes() {
    let err = scalekit::parse(
        BEST_PRACTICES
            .replace("2024-01-15T10:30:00.123456789Z", "2024-01-15 10:30")
            .as_bytes(),
    )
    .unwrap_err();
    assert_eq!(err.path(), Some("occurred_at"));

    let err = scalekit::parse(
        BEST_PRACTICES
            .replace(r#""type": "organization.directory.user_created","#, "")
            .as_bytes(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("missing field `type`"), "{err}");

    let err = scalekit::parse(
        BEST_PRACTICES
            .replace(
                r#""id": "evt_test_123","#,
                r#""id": "evt_a", "id": "evt_b","#,
            )
            .as_bytes(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("duplicate field `id`"), "{err}");

    let trailing = format!("{BEST_PRACTICES} trailing");
    for not_json in ["", "not json", "{\"id\":", "{\"id\":\"evt_1\"", &trailing] {
        let err = scalekit::parse(not_json.as_bytes()).unwrap_err();
        assert_eq!(err.status(), 422, "{not_json:?}");
        assert!(
            matches!(err, EventError::InvalidJson { .. }),
            "{not_json:?}: {err:?}"
        );
    }
    let err = scalekit::parse(b"[1,2]").unwrap_err();
    assert!(matches!(err, EventError::InvalidData { .. }), "{err:?}");
}

#[test]
fn hostile_input_is_an_error_not_a_panic() {
    // Deeper than serde_json's recursion limit, inside an unknown type's data.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = scalekit::parse(envelope("x.y", &deep).as_bytes()).unwrap_err();
    assert_eq!(err.status(), 422);
    let err = from_slice::<Event<Value>>(envelope("x.y", &deep).as_bytes()).unwrap_err();
    assert_eq!(err.status(), 422);
}

#[test]
fn typed_structs_directly() {
    let event: Event<DirectoryUser> = from_slice(BEST_PRACTICES.as_bytes()).unwrap();
    assert_eq!(event.data.family_name.as_deref(), Some("User"));
    let err = from_slice::<Event<DirectoryGroup>>(
        envelope("organization.directory.group_created", "{}").as_bytes(),
    )
    .unwrap_err();
    assert_eq!(err.path(), Some("data"));
    let boxed: Event<Box<RawValue>> = from_slice(BEST_PRACTICES.as_bytes()).unwrap();
    assert!(boxed.data.get().contains("diruser_test_123"));
}

fn verified(body: &str) -> Delivery {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let headers = Signer::standard(secret).unwrap().sign(
        "msg_2o3NaedIm6pL62OQ544VzM1cIYo",
        1_700_000_000,
        body.as_bytes(),
    );
    Verifier::standard(secret)
        .unwrap()
        .without_timestamp_check()
        .verify_delivery(&headers, Bytes::copy_from_slice(body.as_bytes()))
        .unwrap()
}

#[test]
fn delivery_json_and_scalekit_event() {
    let delivery = verified(BEST_PRACTICES);
    assert_eq!(
        delivery.event_type(),
        Some("organization.directory.user_created")
    );
    let event: Event<DirectoryUser> = delivery.json().unwrap();
    assert_eq!(event.data.id, "diruser_test_123");
    let borrowed: Event<&RawValue> = delivery.json().unwrap();
    assert!(borrowed.data.get().starts_with('{'));
    assert!(matches!(
        delivery.scalekit_event().unwrap().data,
        ScalekitEvent::DirectoryUserCreated(_)
    ));

    // A verified body that does not fit: 422, distinct from verification's 400/401.
    let bad = verified(&envelope(
        "organization.directory.user_created",
        r#"{"id":1}"#,
    ));
    let err = bad.scalekit_event().unwrap_err();
    assert_eq!(err.path(), Some("data.id"));
    let rejection = Rejection::from(err);
    assert_eq!(rejection.status(), 422);
    assert_eq!(rejection.code(), "unprocessable_event");
    assert!(
        rejection.json_body().contains("data.id"),
        "{}",
        rejection.json_body()
    );

    let not_json = verified("definitely not json");
    assert!(matches!(
        not_json.json::<Value>().unwrap_err(),
        EventError::InvalidJson {
            line: 1,
            column: 1,
            ..
        }
    ));
}

#[test]
fn filters_route_the_catalog() {
    let directory = EventFilter::new(["organization.directory.*"]).unwrap();
    let matched: Vec<_> = ScalekitEvent::CATALOG
        .iter()
        .map(|e| e.event_type)
        .filter(|t| directory.matches(t))
        .collect();
    assert_eq!(matched.len(), 6, "{matched:?}");
    assert!(
        matched
            .iter()
            .all(|t| t.starts_with("organization.directory."))
    );
    assert!(!directory.matches("organization.directory_enabled"));

    let org = EventFilter::new(["organization.*"]).unwrap();
    assert_eq!(
        ScalekitEvent::CATALOG
            .iter()
            .filter(|e| org.matches(e.event_type))
            .count(),
        19
    );

    let subscribed =
        EventFilter::new(["user.login", "user.logout", "connected_account.*"]).unwrap();
    let count = samples::all()
        .filter(|(t, _)| subscribed.matches(t))
        .count();
    assert_eq!(count, 2 + 9);
    assert!(EventFilter::all().matches("scalekit.org.create"));
}

#[test]
fn samples_with_fresh_ids() {
    let now = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let body = samples::sample_with("role.created", "evt_fresh\"quote", now).unwrap();
    let event = scalekit::parse(body.as_bytes()).unwrap();
    assert_eq!(event.id, "evt_fresh\"quote");
    assert_eq!(event.occurred_at, now);
    assert_eq!(event.organization_id, None);
    assert!(samples::sample_with("nope", "evt_1", now).is_none());
    // Every sample's id is distinct.
    let ids: std::collections::HashSet<_> = samples::all()
        .map(|(_, b)| scalekit::parse(b.as_bytes()).unwrap().id)
        .collect();
    assert_eq!(ids.len(), ScalekitEvent::CATALOG.len());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(err) = scalekit::parse(&body) {
            prop_assert_eq!(err.status(), 422);
        }
    }

    /// A type the catalog does not know (a new or legacy one) never fails to parse: it is kept
    /// as `Unknown` with its data. (Known types with data that does not fit are 422s, above.)
    #[test]
    fn unknown_types_never_fail_when_data_is_an_object(t in "[a-z_.]{0,30}") {
        prop_assume!(!ScalekitEvent::is_known_type(&t));
        let body = envelope(&t, r#"{"id":"x_1","organization_id":"org_1"}"#);
        let event = scalekit::parse(body.as_bytes()).unwrap();
        prop_assert_eq!(event.data.event_type(), t.as_str());
        prop_assert!(event.data.is_unknown());
    }
}

/// Any JSON value, nested a few levels, with strings that need escaping.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}|[\"\\\\/\u{0}-\u{1f}é]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("type|id|data|[a-z]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What a `type` or `id` field holds: mostly strings and integers, sometimes anything.
fn name_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "\\PC{0,12}|[\"\\\\a-z.]{0,8}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        json_value(),
    ]
}

proptest! {
    /// The event type and event id, read by a scan that stops at their field, are what a full
    /// parse of the body finds at the top level.
    #[test]
    fn delivery_names_match_a_full_parse(
        mut fields in prop::collection::btree_map("data|[a-z]{1,3}", json_value(), 0..6),
        type_value in prop::option::of(name_value()),
        id_value in prop::option::of(name_value()),
        pretty in any::<bool>(),
    ) {
        fields.extend(type_value.map(|v| ("type".to_owned(), v)));
        fields.extend(id_value.map(|v| ("id".to_owned(), v)));
        let object = Value::Object(fields.into_iter().collect());
        let body = if pretty {
            serde_json::to_string_pretty(&object).unwrap()
        } else {
            serde_json::to_string(&object).unwrap()
        };
        let delivery = verified(&body);
        prop_assert_eq!(delivery.event_type(), object["type"].as_str());
        let id = match &object["id"] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => n.as_i64().map(|n| n.to_string()),
            _ => None,
        };
        prop_assert_eq!(delivery.event_id(), id.as_deref());
    }

    #[test]
    fn naming_arbitrary_bodies_never_panics(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let delivery = verified(&String::from_utf8_lossy(&body));
        let _ = (delivery.event_type(), delivery.event_id(), delivery.dedupe_key());
    }
}
