// Number and time formatting shared by the dashboard's modules.
//
// Money, prices and quantities arrive from the API as decimal strings: they are shown as
// written (digit-grouped), never passed through a float, so no digit is invented or lost.
// Analytics figures (ratios, indicator values) are plain numbers.

// A decimal string from the API, digit-grouped. Its decimals are kept (they follow the
// market's tick size, so prices line up) except trailing zeros past `maxFrac` places (no
// significant digit is dropped); at least `minFrac` decimals are shown.
export function fmtDecimal(value, { minFrac = 2, maxFrac = 8 } = {}) {
  if (value === null || value === undefined || value === "") return "—";
  const str = String(value);
  if (!/^-?\d+(\.\d+)?$/.test(str)) return fmtNumber(Number(str));
  const negative = str.startsWith("-");
  const [int, frac = ""] = (negative ? str.slice(1) : str).split(".");
  let trimmed = frac.length > maxFrac ? frac.replace(/0+$/, "") : frac;
  if (trimmed.length < minFrac) trimmed = trimmed.padEnd(minFrac, "0");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}${trimmed ? `.${trimmed}` : ""}`;
}

// A price or amount stored with more decimals than it carries ("103531.41000000"): trailing
// zeros dropped, at least two decimals kept.
export function fmtPrice(value) {
  if (value === null || value === undefined || value === "") return "—";
  const str = String(value);
  if (!/^-?\d+(\.\d+)?$/.test(str)) return fmtNumber(Number(str));
  const clean = str.includes(".") ? str.replace(/0+$/, "").replace(/\.$/, "") : str;
  return fmtDecimal(clean);
}

// A quantity: trailing zeros dropped ("0.010" -> "0.01"), at least no decimals.
export function fmtQty(value) {
  if (value === null || value === undefined || value === "") return "—";
  const str = String(value);
  if (!/^-?\d+(\.\d+)?$/.test(str)) return fmtNumber(Number(str));
  const clean = str.includes(".") ? str.replace(/\.?0+$/, "") : str;
  return fmtDecimal(clean, { minFrac: 0 });
}

// USDT amounts: two decimals, with a sign when asked (PnL).
export function fmtMoney(value, { signed = false } = {}) {
  if (value === null || value === undefined || value === "") return "—";
  const v = Number(value);
  if (!Number.isFinite(v)) return "—";
  const text = Math.abs(v).toLocaleString("en-US", {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  if (v < 0 && text !== "0.00") return `-${text}`;
  return signed && v > 0 && text !== "0.00" ? `+${text}` : text;
}

// Analytics numbers (indicators, floats): precision follows magnitude.
export function fmtNumber(value, { digits } = {}) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  const v = Number(value);
  const abs = Math.abs(v);
  const max = digits ?? (abs >= 100 ? 2 : abs >= 1 ? 4 : abs >= 0.01 ? 5 : 8);
  return v.toLocaleString("en-US", { maximumFractionDigits: max, minimumFractionDigits: 0 });
}

const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });
export function fmtCompact(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  return compact.format(Number(value));
}

export function fmtPct(value, { digits = 2 } = {}) {
  if (value === null || value === undefined || value === "") return "—";
  const v = Number(value);
  if (!Number.isFinite(v)) return "—";
  return `${v > 0 ? "+" : ""}${v.toFixed(digits)}%`;
}

export function utcLabel(ms) {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

// An ISO time or epoch ms as "YYYY-MM-DD HH:MM" (UTC), for tables.
export function fmtTime(value) {
  if (value === null || value === undefined || value === "") return "—";
  const ms = typeof value === "number" ? value : Date.parse(value);
  if (!Number.isFinite(ms)) return "—";
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

// Plotly shows date strings as written: pass UTC wall time so the axis reads in UTC.
export function plotlyTime(ms) {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

export function sign(v) {
  return v > 0 ? "up" : v < 0 ? "down" : "flat";
}
