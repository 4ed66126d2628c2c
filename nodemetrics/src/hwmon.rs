//! Temperatures from `sys/class/hwmon`: each `tempN_input` (millidegrees Celsius), labelled by
//! the chip's `name` and the sensor's `tempN_label`. A node without sensors reports none.

use std::fs;

use atlhyper_model::TemperatureMetrics;

use crate::host::Host;

fn read_trimmed(path: &std::path::Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn millidegrees(path: &std::path::Path) -> Option<f64> {
    let value: f64 = read_trimmed(path)?.parse::<i64>().ok()? as f64 / 1000.0;
    // A disconnected sensor reads as a huge or very negative value.
    (-60.0..=200.0).contains(&value).then_some(value)
}

/// Every temperature sensor the node has, sorted by name.
pub fn temperatures(host: &Host) -> Vec<TemperatureMetrics> {
    let Ok(chips) = fs::read_dir(host.sys("class/hwmon")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for chip in chips.filter_map(Result::ok) {
        let dir = chip.path();
        let chip_name = read_trimmed(&dir.join("name"))
            .unwrap_or_else(|| chip.file_name().to_string_lossy().into_owned());
        let Ok(files) = fs::read_dir(&dir) else {
            continue;
        };
        for file in files.filter_map(Result::ok) {
            let file_name = file.file_name().to_string_lossy().into_owned();
            let Some(index) = file_name
                .strip_prefix("temp")
                .and_then(|rest| rest.strip_suffix("_input"))
            else {
                continue;
            };
            let Some(celsius) = millidegrees(&file.path()) else {
                continue;
            };
            let label = read_trimmed(&dir.join(format!("temp{index}_label")))
                .unwrap_or_else(|| format!("temp{index}"));
            out.push(TemperatureMetrics {
                sensor: format!("{chip_name} {label}"),
                celsius,
                critical_celsius: millidegrees(&dir.join(format!("temp{index}_crit"))),
            });
        }
    }
    out.sort_by(|a, b| a.sensor.cmp(&b.sensor));
    out
}
