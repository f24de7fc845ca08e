//! `x-start` / `x-end` on `GET /events`: the active-window rule of the README, edge by edge.

use crate::backend_tests;
use crate::events::{named, names, program};
use crate::helpers::*;
use serde_json::json;

async fn list_combines_program_targets_and_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = program(&app, "a").await;
    let b = program(&app, "b").await;
    let event = |name: &str, program_id: &str, start: &str, group: &str| {
        let mut event = named(name, program_id, start, Some("PT1H"), 1);
        event["targets"] = json!([{"type": "GROUP", "values": [group]}]);
        event
    };
    app.create_event(event("a-g1-day1", &a, "2024-01-01T00:00:00Z", "g1"))
        .await;
    app.create_event(event("a-g2-day1", &a, "2024-01-01T00:00:00Z", "g2"))
        .await;
    app.create_event(event("a-g1-day2", &a, "2024-01-02T00:00:00Z", "g1"))
        .await;
    app.create_event(event("b-g1-day1", &b, "2024-01-01T00:00:00Z", "g1"))
        .await;

    let day1 = "x-start=2024-01-01T00:00:00Z&x-end=2024-01-02T00:00:00Z";
    assert_eq!(
        names(&app, day1).await,
        ["a-g1-day1", "a-g2-day1", "b-g1-day1"]
    );
    assert_eq!(
        names(&app, &format!("programID={a}&{day1}")).await,
        ["a-g1-day1", "a-g2-day1"]
    );
    assert_eq!(
        names(
            &app,
            &format!("programID={a}&targetType=GROUP&targetValues=g1&{day1}")
        )
        .await,
        ["a-g1-day1"]
    );
    assert_eq!(
        names(
            &app,
            &format!("programID={a}&targetType=GROUP&targetValues=g1&x-start=2024-01-01T12:00:00Z")
        )
        .await,
        ["a-g1-day2"]
    );
    assert_eq!(
        names(
            &app,
            "targetType=GROUP&targetValues=g1&x-end=2024-01-01T12:00:00Z"
        )
        .await,
        ["a-g1-day1", "b-g1-day1"]
    );
    assert!(
        names(&app, &format!("programID={b}&targetValues=g2&{day1}"))
            .await
            .is_empty()
    );
    assert_eq!(
        names(&app, &format!("programID={a}&{day1}&skip=1&limit=1")).await,
        ["a-g2-day1"]
    );
}

async fn window_is_half_open(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    app.create_event(named("early", &p, "2024-01-01T00:00:00Z", Some("PT1H"), 1))
        .await; // [00:00, 01:00)
    app.create_event(named("late", &p, "2024-01-01T02:00:00Z", Some("PT1H"), 1))
        .await; // [02:00, 03:00)
    app.create_event(named("two", &p, "2024-01-01T04:00:00Z", Some("PT1H"), 2))
        .await; // [04:00, 06:00)

    // "early" ends exactly at x-start, "late" starts exactly at x-end: neither overlaps.
    assert!(names(
        &app,
        "x-start=2024-01-01T01:00:00Z&x-end=2024-01-01T02:00:00Z"
    )
    .await
    .is_empty());
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T00:59:59Z&x-end=2024-01-01T02:00:00Z"
        )
        .await,
        ["early"]
    );
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T01:00:00Z&x-end=2024-01-01T02:00:01Z"
        )
        .await,
        ["late"]
    );
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T00:30:00Z&x-end=2024-01-01T02:30:00Z"
        )
        .await,
        ["early", "late"]
    );
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T00:15:00Z&x-end=2024-01-01T00:45:00Z"
        )
        .await,
        ["early"]
    );
    assert_eq!(
        names(
            &app,
            "x-start=2023-12-31T00:00:00Z&x-end=2024-01-02T00:00:00Z"
        )
        .await,
        ["early", "late", "two"]
    );
    // The window of an event with two intervals covers both.
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T05:30:00Z&x-end=2024-01-01T07:00:00Z"
        )
        .await,
        ["two"]
    );
    assert!(names(
        &app,
        "x-start=2024-01-01T06:00:00Z&x-end=2024-01-01T07:00:00Z"
    )
    .await
    .is_empty());
}

async fn window_bounds_can_be_given_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    app.create_event(named("early", &p, "2024-01-01T00:00:00Z", Some("PT1H"), 1))
        .await; // [00:00, 01:00)
    app.create_event(named("late", &p, "2024-01-01T02:00:00Z", Some("PT1H"), 1))
        .await; // [02:00, 03:00)

    assert_eq!(
        names(&app, "x-start=2024-01-01T00:59:59Z").await,
        ["early", "late"]
    );
    assert_eq!(names(&app, "x-start=2024-01-01T01:00:00Z").await, ["late"]);
    assert_eq!(
        names(&app, "x-start=2024-01-01T02:59:59.999Z").await,
        ["late"]
    );
    assert!(names(&app, "x-start=2024-01-01T03:00:00Z").await.is_empty());

    assert!(names(&app, "x-end=2024-01-01T00:00:00Z").await.is_empty());
    assert_eq!(
        names(&app, "x-end=2024-01-01T00:00:00.001Z").await,
        ["early"]
    );
    assert_eq!(names(&app, "x-end=2024-01-01T02:00:00Z").await, ["early"]);
    assert_eq!(
        names(&app, "x-end=2024-01-01T02:00:00.001Z").await,
        ["early", "late"]
    );
}

async fn open_ended_events_match_any_later_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    let start = "2024-01-01T00:00:00Z";
    app.create_event(named("bounded", &p, start, Some("PT1H"), 1))
        .await;
    app.create_event(named("no-duration", &p, start, None, 1))
        .await;
    app.create_event(named("forever", &p, start, Some("P9999Y"), 1))
        .await;
    // The User Guide's rolling forecast: P9999Y at event level, each interval with its own duration.
    let mut rolling = named("rolling", &p, start, Some("P9999Y"), 2);
    rolling["intervals"][0]["intervalPeriod"] = json!({"start": start, "duration": "PT1H"});
    rolling["intervals"][1]["intervalPeriod"] =
        json!({"start": "2024-01-01T01:00:00Z", "duration": "PT1H"});
    app.create_event(rolling).await;

    let open = ["no-duration", "forever", "rolling"];
    assert_eq!(names(&app, "x-start=2030-01-01T00:00:00Z").await, open);
    assert_eq!(
        names(
            &app,
            "x-start=2030-01-01T00:00:00Z&x-end=2030-01-02T00:00:00Z"
        )
        .await,
        open
    );
    assert_eq!(
        names(&app, "x-start=9999-12-31T23:59:59Z").await,
        open,
        "the latest x-start RFC 3339 can express"
    );
    assert_eq!(
        names(&app, "x-start=2024-01-01T00:30:00Z").await,
        ["bounded", "no-duration", "forever", "rolling"]
    );
    // Open-ended still has a start: windows before it do not match.
    assert!(names(&app, "x-end=2024-01-01T00:00:00Z").await.is_empty());
    assert!(names(
        &app,
        "x-start=2023-01-01T00:00:00Z&x-end=2023-06-01T00:00:00Z"
    )
    .await
    .is_empty());
}

async fn interval_periods_define_the_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    let payloads = json!([{"type": "SIMPLE", "values": [1]}]);
    // No event-level period: intervals at 10:00–11:00 and 08:00–08:30 give [08:00, 11:00).
    app.create_event(json!({"programID": p, "eventName": "spread", "intervals": [
        {"id": 0, "intervalPeriod": {"start": "2024-01-01T10:00:00Z", "duration": "PT1H"}, "payloads": payloads},
        {"id": 1, "intervalPeriod": {"start": "2024-01-01T08:00:00Z", "duration": "PT30M"}, "payloads": payloads},
    ]}))
    .await;
    // An interval's own duration overrides the event's, and the next interval follows it:
    // [00:00, 03:00) then [03:00, 04:00) on 2024-01-03.
    app.create_event(json!({"programID": p, "eventName": "override",
        "intervalPeriod": {"start": "2024-01-03T00:00:00Z", "duration": "PT1H"}, "intervals": [
        {"id": 0, "intervalPeriod": {"start": "2024-01-03T00:00:00Z", "duration": "PT3H"}, "payloads": payloads},
        {"id": 1, "payloads": payloads},
    ]}))
    .await;
    // An event-level period with no intervals still says when the event applies.
    app.create_event(json!({"programID": p, "eventName": "period-only",
        "intervalPeriod": {"start": "2024-01-05T00:00:00Z", "duration": "PT1H"}, "intervals": []}))
        .await;

    let day = |d: u32, hms: &str| format!("2024-01-{d:02}T{hms}Z");
    assert!(names(&app, &format!("x-end={}", day(1, "08:00:00")))
        .await
        .is_empty());
    assert_eq!(
        names(&app, &format!("x-end={}", day(1, "08:00:01"))).await,
        ["spread"]
    );
    assert_eq!(
        names(
            &app,
            &format!(
                "x-start={}&x-end={}",
                day(1, "10:59:00"),
                day(2, "00:00:00")
            )
        )
        .await,
        ["spread"]
    );
    assert!(names(
        &app,
        &format!(
            "x-start={}&x-end={}",
            day(1, "11:00:00"),
            day(2, "00:00:00")
        )
    )
    .await
    .is_empty());
    // The gap between the intervals lies inside the window (earliest start to latest end).
    assert_eq!(
        names(
            &app,
            &format!(
                "x-start={}&x-end={}",
                day(1, "09:00:00"),
                day(1, "09:30:00")
            )
        )
        .await,
        ["spread"]
    );

    assert_eq!(
        names(
            &app,
            &format!(
                "x-start={}&x-end={}",
                day(3, "03:30:00"),
                day(4, "00:00:00")
            )
        )
        .await,
        ["override"]
    );
    assert!(names(
        &app,
        &format!(
            "x-start={}&x-end={}",
            day(3, "04:00:00"),
            day(4, "00:00:00")
        )
    )
    .await
    .is_empty());

    assert_eq!(
        names(
            &app,
            &format!(
                "x-start={}&x-end={}",
                day(5, "00:59:00"),
                day(6, "00:00:00")
            )
        )
        .await,
        ["period-only"]
    );
    assert!(names(
        &app,
        &format!(
            "x-start={}&x-end={}",
            day(5, "01:00:00"),
            day(6, "00:00:00")
        )
    )
    .await
    .is_empty());
}

async fn event_without_any_time_matches_every_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    app.create_event(named(
        "bounded",
        &p,
        "2024-01-01T00:00:00Z",
        Some("PT1H"),
        1,
    ))
    .await;
    app.create_event(json!({"programID": p, "eventName": "timeless",
        "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}]}))
        .await;
    app.create_event(json!({"programID": p, "eventName": "empty", "intervals": []}))
        .await;

    assert_eq!(names(&app, "").await, ["bounded", "timeless", "empty"]);
    assert_eq!(
        names(&app, "x-start=2030-01-01T00:00:00Z").await,
        ["timeless", "empty"]
    );
    assert_eq!(
        names(&app, "x-end=2000-01-01T00:00:00Z").await,
        ["timeless", "empty"]
    );
    assert_eq!(
        names(
            &app,
            "x-start=1990-01-01T00:00:00Z&x-end=1990-01-01T00:00:01Z"
        )
        .await,
        ["timeless", "empty"]
    );
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T00:00:00Z&x-end=2024-01-01T01:00:00Z"
        )
        .await,
        ["bounded", "timeless", "empty"]
    );
}

async fn instantaneous_event_at_x_start_is_included(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    app.create_event(named(
        "instant",
        &p,
        "2024-01-01T12:00:00Z",
        Some("PT0S"),
        1,
    ))
    .await;

    assert_eq!(
        names(&app, "x-start=2024-01-01T12:00:00Z").await,
        ["instant"]
    );
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T12:00:00Z&x-end=2024-01-01T13:00:00Z"
        )
        .await,
        ["instant"]
    );
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T11:00:00Z&x-end=2024-01-01T12:00:00.001Z"
        )
        .await,
        ["instant"]
    );
    assert_eq!(names(&app, "x-end=2024-01-01T12:01:00Z").await, ["instant"]);
    // Starting exactly at x-end, or before x-start, is outside.
    assert!(names(
        &app,
        "x-start=2024-01-01T11:00:00Z&x-end=2024-01-01T12:00:00Z"
    )
    .await
    .is_empty());
    assert!(names(&app, "x-end=2024-01-01T12:00:00Z").await.is_empty());
    assert!(names(&app, "x-start=2024-01-01T12:00:00.001Z")
        .await
        .is_empty());
}

async fn window_offsets_are_honoured(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    // Both are [00:00Z, 01:00Z), written in different offsets.
    app.create_event(named(
        "plus-two",
        &p,
        "2024-01-01T02:00:00+02:00",
        Some("PT1H"),
        1,
    ))
    .await;
    app.create_event(named(
        "minus-five",
        &p,
        "2023-12-31T19:00:00-05:00",
        Some("PT1H"),
        1,
    ))
    .await;
    let both = ["plus-two", "minus-five"];

    // 2024-01-01T02:00:00+02:00 is 00:00Z: an event starting then does not overlap [.., 00:00Z).
    assert!(names(&app, "x-end=2024-01-01T02:00:00%2B02:00")
        .await
        .is_empty());
    assert!(names(&app, "x-end=2024-01-01T00:00:00Z").await.is_empty());
    assert_eq!(names(&app, "x-end=2024-01-01T02:00:01%2B02:00").await, both);
    // 2023-12-31T20:00:00-05:00 is 01:00Z, where both end.
    assert!(names(&app, "x-start=2023-12-31T20:00:00-05:00")
        .await
        .is_empty());
    assert_eq!(names(&app, "x-start=2023-12-31T19:59:59-05:00").await, both);
    assert_eq!(
        names(
            &app,
            "x-start=2024-01-01T02:30:00%2B02:00&x-end=2023-12-31T19:45:00-05:00"
        )
        .await,
        both
    );
    // An unencoded '+' decodes to a space, which is not a valid offset.
    let detail = expect_problem(
        app.get("/events?x-end=2024-01-01T02:00:00+02:00").await,
        400,
    )
    .await;
    assert!(detail.contains("x-end"), "{detail}");
}

async fn window_parameters_are_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    app.create_event(event_at(&p, "2024-01-01T00:00:00Z", Some("PT1H"), 1))
        .await;
    for (query, field) in [
        (
            "x-start=2024-01-02T00:00:00Z&x-end=2024-01-01T00:00:00Z",
            "x-start",
        ),
        (
            "x-start=2024-01-01T01:00:01%2B01:00&x-end=2024-01-01T00:00:00Z",
            "x-start",
        ),
        ("x-start=yesterday", "x-start"),
        ("x-start=2024-01-01", "x-start"),
        ("x-start=2024-01-01T00:00:00", "x-start"),
        ("x-end=2024-13-01T00:00:00Z", "x-end"),
        ("x-end=", "x-end"),
    ] {
        let detail = expect_problem(app.get(&format!("/events?{query}")).await, 400).await;
        assert!(
            detail.contains(field),
            "{query}: detail names {field}: {detail}"
        );
    }
    // Equal bounds are not an error.
    expect_json(
        app.get("/events?x-start=2024-01-01T00:00:00Z&x-end=2024-01-01T00:00:00Z")
            .await,
        200,
    )
    .await;
}

backend_tests!(
    list_combines_program_targets_and_window,
    window_is_half_open,
    window_bounds_can_be_given_alone,
    open_ended_events_match_any_later_window,
    interval_periods_define_the_window,
    event_without_any_time_matches_every_window,
    instantaneous_event_at_x_start_is_included,
    window_offsets_are_honoured,
    window_parameters_are_validated,
);
