// A form sent back with errors: move focus to its summary, so a screen reader reads the list of
// what to fix and a keyboard user starts there (each item links to its field).
const summary = document.querySelector(".error-summary");
if (summary) summary.focus();
