//! XP earned by activity, the message cooldown, and XP boosts.

use chrono::{DateTime, Utc};

use super::rules::Rules;

pub fn game_xp(rules: &Rules, won: bool) -> i32 {
    if won {
        rules.games.xp_win
    } else {
        rules.games.xp_loss
    }
}

/// XP for whole minutes of voice; a partial minute earns nothing.
pub fn voice_xp(rules: &Rules, seconds: i32) -> i32 {
    (seconds / 60).saturating_mul(rules.voice.xp_per_minute)
}

pub fn check_voice_seconds(rules: &Rules, seconds: i32) -> Result<(), String> {
    if seconds < 0 {
        return Err("seconds must not be negative".into());
    }
    if seconds > rules.voice.max_session_seconds {
        return Err(format!(
            "a voice session is at most {} seconds",
            rules.voice.max_session_seconds
        ));
    }
    Ok(())
}

/// Whether a message at `now` earns XP, given when the user last earned message XP. The
/// cooldown is measured from that earning message, so a steady stream earns once a cooldown.
pub fn message_earns(rules: &Rules, last_earned: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match last_earned {
        None => true,
        // A clock that went backwards (last > now) is treated as inside the cooldown.
        Some(last) => (now - last).num_milliseconds() >= rules.messages.cooldown_seconds * 1000,
    }
}

/// Applies the boosts in force (multiplied together) to a gain, rounding down. Losses are never
/// boosted. Returns the boosted XP and the multiplier applied.
pub fn boosted(xp: i32, multipliers: &[f64]) -> (i32, f64) {
    let factor: f64 = multipliers.iter().product();
    if xp <= 0 || multipliers.is_empty() {
        return (xp, 1.0);
    }
    let boosted = (f64::from(xp) * factor).floor();
    (boosted.clamp(0.0, f64::from(i32::MAX)) as i32, factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn game_and_voice_xp() {
        let r = Rules::default();
        assert_eq!(game_xp(&r, true), r.games.xp_win);
        assert_eq!(game_xp(&r, false), r.games.xp_loss);
        assert_eq!(voice_xp(&r, 59), 0);
        assert_eq!(voice_xp(&r, 60), r.voice.xp_per_minute);
        assert_eq!(voice_xp(&r, 3599), 59 * r.voice.xp_per_minute);
        assert!(check_voice_seconds(&r, -1).is_err());
        assert!(check_voice_seconds(&r, 86_401).is_err());
        assert!(check_voice_seconds(&r, 86_400).is_ok());
    }

    #[test]
    fn cooldown_edges() {
        let r = Rules::default(); // 60 s
        let t = Utc::now();
        assert!(message_earns(&r, None, t));
        assert!(!message_earns(&r, Some(t), t));
        assert!(!message_earns(&r, Some(t), t + Duration::milliseconds(59_999)));
        assert!(message_earns(&r, Some(t), t + Duration::seconds(60)));
        assert!(
            !message_earns(&r, Some(t + Duration::seconds(5)), t),
            "clock went backwards"
        );
    }

    #[test]
    fn boosts_stack_multiplicatively_and_round_down() {
        assert_eq!(boosted(10, &[]), (10, 1.0));
        assert_eq!(boosted(10, &[1.5]), (15, 1.5));
        assert_eq!(boosted(7, &[1.5, 2.0]), (21, 3.0));
        assert_eq!(boosted(5, &[1.25]), (6, 1.25), "6.25 rounds down");
        assert_eq!(boosted(-10, &[2.0]), (-10, 1.0), "losses are not boosted");
        assert_eq!(boosted(i32::MAX, &[2.0]).0, i32::MAX);
    }
}
