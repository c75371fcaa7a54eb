//! Charts: each chart's data (format=json) equals its JSON report, and the SVG plots exactly
//! those values (bars and points read back from the SVG, through the axis' linear scale); the
//! labels, axis titles and legend are there; PNG is a PNG of the chart's size; bad names,
//! formats and parameters are 4xx. `CHART_SAMPLES_DIR=/tmp/x` writes the PNGs to look at.

use crate::helpers::{spawn_app, TestApp};
use quick_xml::events::Event;
use serde_json::{json, Value};
use std::collections::HashMap;

struct Element {
    name: String,
    attrs: HashMap<String, String>,
    text: String,
}

/// The rect, circle, polyline and text elements of an SVG, in order.
fn elements(svg: &str) -> Vec<Element> {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut out: Vec<Element> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed SVG") {
            Event::Start(e) | Event::Empty(e) => {
                let name = AsRef::<str>::as_ref(&e.name()).to_string();
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (AsRef::<str>::as_ref(&a.key).to_string(), a.value.to_string())
                    })
                    .collect();
                out.push(Element { name, attrs, text: String::new() });
            }
            Event::Text(t) => {
                if let Some(last) = out.last_mut() {
                    last.text.push_str(&t.into_inner());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn num(e: &Element, attr: &str) -> f64 {
    e.attrs[attr].parse().unwrap_or_else(|_| panic!("{attr} of {}", e.name))
}

fn texts(els: &[Element]) -> Vec<String> {
    els.iter().filter(|e| e.name == "text").map(|e| e.text.trim().to_string()).collect()
}

async fn fetch(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let res = app.client.get(format!("{}{path}", app.address)).bearer_auth(&app.api_key).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

fn values(series: &Value) -> Vec<Option<f64>> {
    series["values"].as_array().unwrap().iter().map(|v| v.as_str().map(|s| s.parse().unwrap())).collect()
}

/// Every value of the chart's series is drawn at a pixel height that is one linear function
/// of the value (within the rounding of pixel coordinates), in category order.
fn assert_plotted(chart: &Value, svg: &str) {
    let els = elements(svg);
    let labels = texts(&els);
    for wanted in [&chart["title"], &chart["x_title"], &chart["y_title"]] {
        assert!(labels.iter().any(|t| t == wanted.as_str().unwrap()), "{wanted} in {labels:?}");
    }
    let categories: Vec<&str> = chart["categories"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(labels.iter().any(|t| t == categories.last().unwrap()), "the last category is labelled: {labels:?}");
    // (value, pixel top, pixel bottom, x) of every mark, per series.
    let mut marks: Vec<(f64, f64, f64)> = Vec::new();
    let stacked = chart["kind"] == "stacked_bars";
    let mut stack_base: Vec<f64> = vec![0.0; categories.len()];
    for s in chart["series"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        assert!(labels.iter().any(|t| t == name), "legend {name} in {labels:?}");
        let color = s["color"].as_str().unwrap();
        let drawn: Vec<&Element> = if stacked {
            els.iter()
                .filter(|e| {
                    e.name == "rect" && e.attrs.get("fill").map(String::as_str) == Some(color) && num(e, "width") > 20.0
                })
                .collect()
        } else {
            els.iter()
                .filter(|e| e.name == "circle" && e.attrs.get("fill").map(String::as_str) == Some(color))
                .collect()
        };
        let vals = values(s);
        let expected: Vec<(usize, f64)> =
            vals.iter().enumerate().filter_map(|(i, v)| v.filter(|v| !stacked || *v != 0.0).map(|v| (i, v))).collect();
        assert_eq!(drawn.len(), expected.len(), "{name}: one mark per value");
        let mut last_x = f64::MIN;
        for (e, (i, v)) in drawn.iter().zip(&expected) {
            let x = if stacked { num(e, "x") } else { num(e, "cx") };
            assert!(x > last_x, "{name}: in category order");
            last_x = x;
            if stacked {
                // A bar from the stack's top so far to that plus the value.
                let (top, h) = (num(e, "y"), num(e, "height"));
                marks.push((stack_base[*i], top + h, 0.0));
                marks.push((stack_base[*i] + v, top, 0.0));
                stack_base[*i] += v;
            } else {
                marks.push((*v, num(e, "cy"), 0.0));
            }
        }
    }
    // One scale for all: fit it on the extremes, check every mark against it.
    let lo = marks.iter().cloned().fold((f64::MAX, 0.0, 0.0), |a, m| if m.0 < a.0 { m } else { a });
    let hi = marks.iter().cloned().fold((f64::MIN, 0.0, 0.0), |a, m| if m.0 > a.0 { m } else { a });
    if hi.0 == lo.0 {
        // One value only: every mark at one height.
        assert!(marks.iter().all(|m| (m.1 - lo.1).abs() <= 1.0), "{marks:?}");
        return;
    }
    let k = (lo.1 - hi.1) / (hi.0 - lo.0);
    assert!(k > 0.0, "larger values higher up");
    for (v, y, _) in &marks {
        let want = lo.1 - (v - lo.0) * k;
        assert!((y - want).abs() <= 2.0, "value {v} drawn at {y}, the scale puts it at {want}");
    }
}

async fn chart(app: &TestApp, path: &str, save_as: &str) -> Value {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, _, body) = fetch(app, &format!("{path}{sep}format=json")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let data: Value = serde_json::from_slice(&body).unwrap();
    let (status, ct, svg) = fetch(app, path).await;
    assert_eq!((status, ct.as_str()), (200, "image/svg+xml"), "{}", String::from_utf8_lossy(&svg));
    assert_plotted(&data, &String::from_utf8(svg).unwrap());
    let (status, ct, png) = fetch(app, &format!("{path}{sep}format=png")).await;
    assert_eq!((status, ct.as_str()), (200, "image/png"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let (w, h) =
        (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
    assert_eq!((w, h), (960, 540));
    if let Ok(dir) = std::env::var("CHART_SAMPLES_DIR") {
        std::fs::write(format!("{dir}/{save_as}.png"), &png).unwrap();
    }
    data
}

async fn dunning(app: &TestApp) {
    let levels = json!([
        {"code": "L2", "name": "Reminder", "severity": 2, "min_days_overdue": 30, "action": "reminder"},
        {"code": "L1", "name": "Before due", "severity": 1, "min_days_overdue": 1, "action": "reminder"}
    ]);
    let r = app.put("/api/v1/dunning-levels", &levels).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for as_of in ["2026-11-10", "2026-11-17", "2026-12-08"] {
        let r = app.post("/api/v1/dunning-runs", &json!({"as_of": as_of})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

#[tokio::test]
async fn every_chart_plots_its_reports_figures() {
    let app = spawn_app().await;
    crate::payment_behaviour::setup(&app).await;
    dunning(&app).await;

    let c =
        chart(&app, "/api/v1/reports/charts/payment-behaviour?customer=P1&as_of=2026-12-31", "payment-behaviour").await;
    let b = app.get("/api/v1/customers/P1/payment-behaviour?as_of=2026-12-31").await.body;
    let late: Vec<Option<f64>> = b["history"].as_array().unwrap().iter().map(|p| p["days_late"].as_f64()).collect();
    assert_eq!(values(&c["series"][0]), late);
    let dates: Vec<Value> = b["history"].as_array().unwrap().iter().map(|p| p["paid_on"].clone()).collect();
    assert_eq!(c["categories"], Value::Array(dates));

    let c = chart(&app, "/api/v1/reports/charts/aging?as_of=2026-12-31&periods=4", "aging").await;
    assert_eq!(c["categories"], json!(["2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31"]));
    for (i, as_of) in ["2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31"].iter().enumerate() {
        let report = app.get(&format!("/api/v1/reports/aging?as_of={as_of}")).await.body;
        let buckets: Vec<Option<f64>> = report["base_total"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().map(|s| s.parse().unwrap()))
            .collect();
        let plotted: Vec<Option<f64>> = c["series"].as_array().unwrap().iter().map(|s| values(s)[i]).collect();
        assert_eq!(plotted, buckets, "{as_of}");
    }
    let weekly = chart(
        &app,
        "/api/v1/reports/charts/aging?as_of=2026-12-31&periods=3&interval=week&customer=P1",
        "aging-weekly",
    )
    .await;
    assert_eq!(weekly["categories"], json!(["2026-12-17", "2026-12-24", "2026-12-31"]));

    let c = chart(&app, "/api/v1/reports/charts/dso?as_of=2026-12-31&periods=5", "dso").await;
    for (i, as_of) in ["2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31"].iter().enumerate() {
        let report = app.get(&format!("/api/v1/reports/collections?as_of={as_of}")).await.body;
        let dso = report["totals"][0]["dso_days"].as_str().map(|s| s.parse::<f64>().unwrap());
        assert_eq!(values(&c["series"][0])[i], dso, "{as_of}: {report}");
    }

    let c = chart(&app, "/api/v1/reports/charts/recovery?as_of=2026-12-14&periods=6", "recovery").await;
    let report = app.get("/api/v1/dunning/recovery?until=2026-12-14&weeks=6").await.body;
    assert!(!report.as_array().unwrap().is_empty(), "the chart plots something: {report}");
    for row in report.as_array().unwrap() {
        let name = format!("{} {}", row["level"].as_str().unwrap(), row["currency"].as_str().unwrap());
        let s =
            c["series"].as_array().unwrap().iter().find(|s| s["name"] == name.as_str()).expect("a series per level");
        let i = c["categories"].as_array().unwrap().iter().position(|d| *d == row["as_of"]).unwrap();
        assert_eq!(values(s)[i], row["recovery_rate"].as_str().map(|r| r.parse().unwrap()), "{row}");
    }
}

#[tokio::test]
async fn bad_charts_are_refused() {
    let app = spawn_app().await;
    crate::payment_behaviour::setup(&app).await;
    for (path, status) in [
        ("/api/v1/reports/charts/pie", 404),
        ("/api/v1/reports/charts/aging?format=gif", 422),
        ("/api/v1/reports/charts/aging?interval=day", 422),
        ("/api/v1/reports/charts/aging?periods=0", 422),
        ("/api/v1/reports/charts/aging?colour=red", 422),
        ("/api/v1/reports/charts/dso?customer=P1", 422),
        ("/api/v1/reports/charts/payment-behaviour", 422),
        ("/api/v1/reports/charts/payment-behaviour?customer=NOPE", 404),
    ] {
        let (got, _, body) = fetch(&app, path).await;
        assert_eq!(got, status, "{path}: {}", String::from_utf8_lossy(&body));
    }
    let (_, other) = app.create_tenant("Other");
    let r = app.get_as(&other, "/api/v1/reports/charts/payment-behaviour?customer=P1&format=json").await;
    assert_eq!(r.status, 404, "another tenant's customer is not found");
    let r = app.get_as(&other, "/api/v1/reports/charts/aging?format=json&as_of=2026-12-31&periods=1").await;
    assert!(r.body["series"].as_array().unwrap().iter().all(|s| s["values"][0] == "0.00"), "{}", r.text);
}
