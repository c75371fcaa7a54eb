//! A chart as data: categories along the x axis and named series of values over them. The chart
//! services build one from a report's own figures and `reports::charts` draws it (SVG, PNG), so
//! a picture shows exactly the numbers its JSON report gives.

use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// One line with a point per value; a missing value breaks the line.
    Lines,
    /// One bar per category, the series stacked in their order.
    StackedBars,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChartSeries {
    pub name: String,
    /// `#RRGGBB`, as drawn.
    pub color: String,
    /// One per category; `null` where the report has no figure.
    pub values: Vec<Option<Decimal>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Chart {
    /// recovery | aging | dso | payment-behaviour
    pub name: String,
    pub title: String,
    pub kind: ChartKind,
    pub x_title: String,
    pub y_title: String,
    pub categories: Vec<String>,
    pub series: Vec<ChartSeries>,
}

/// Colours told apart by most people with a colour-vision deficiency (Okabe-Ito), then greys.
pub const PALETTE: [&str; 10] =
    ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#7F7F7F", "#B2B2B2"];

/// The colour of the `i`th series.
pub fn color(i: usize) -> String {
    PALETTE[i % PALETTE.len()].to_string()
}
