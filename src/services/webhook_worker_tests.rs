//! Unit tests of the webhook worker's pure parts: retry schedule, Retry-After, signatures.

use super::*;

#[test]
fn schedule_with_jitter_and_retry_after() {
    let s = [Duration::from_secs(5), Duration::from_secs(300)];
    let max = Duration::from_secs(3600);
    assert_eq!(next_attempt(&s, 1, None, max, 1.0), Some(Duration::from_secs(5)));
    assert_eq!(next_attempt(&s, 2, None, max, 1.2), Some(Duration::from_secs(360)));
    assert_eq!(next_attempt(&s, 2, None, max, 0.8), Some(Duration::from_secs(240)));
    assert_eq!(next_attempt(&s, 3, None, max, 1.0), None, "schedule exhausted");
    assert_eq!(next_attempt(&s, 1, Some(Duration::from_secs(60)), max, 1.0), Some(Duration::from_secs(60)));
    assert_eq!(next_attempt(&s, 1, Some(Duration::from_secs(1)), max, 1.0), Some(Duration::from_secs(5)));
    assert_eq!(next_attempt(&s, 1, Some(Duration::from_secs(86400 * 9)), max, 1.0), Some(max), "capped");
}

#[test]
fn default_schedule_spans_about_three_days() {
    let total: Duration = WebhookConfig::default().retry_schedule.iter().sum();
    assert!(total > Duration::from_secs(60 * 3600) && total < Duration::from_secs(80 * 3600), "{total:?}");
}

#[test]
fn retry_after_forms() {
    let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z").unwrap().with_timezone(&Utc);
    assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(60)));
    assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn signs_with_every_active_secret() {
    let a = webhook_signature::generate_secret();
    let b = webhook_signature::generate_secret();
    let header = signature_header(&[a.clone(), b.clone()], "msg", 1, b"{}");
    assert_eq!(header.split(' ').count(), 2);
    for s in [a, b] {
        let key = webhook_signature::secret_key(&s).unwrap();
        assert!(webhook_signature::verify(&[key], "msg", "1", &header, b"{}", 1).is_ok());
    }
}
