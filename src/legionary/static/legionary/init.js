// Starts GOV.UK Frontend's and MOJ Frontend's scripts on every page (loaded as a module by both
// bases; the Content-Security-Policy allows no inline script, so this replaces the inline snippet
// GOV.UK's own page template uses). Every page works without it: the components only add
// behaviour (exit-this-page shortcut, error summary focus, menu toggles, sortable tables, the
// filter panel's show/hide button on a phone).
import { createAll, initAll as govukInitAll, isSupported } from "./govuk-frontend.min.js";
import { FilterToggleButton, initAll as mojInitAll } from "./moj-frontend.min.js";

document.body.classList.add("js-enabled");
// Browsers that run ES modules are the ones GOV.UK Frontend supports.
document.body.classList.add("govuk-frontend-supported");
if (isSupported()) {
  govukInitAll();
  mojInitAll();
  // Not in MOJ's initAll: the filter panels of the long lists (data-module="moj-filter"), hidden
  // behind a "Show filter" button on a narrow screen, where MOJ's layout makes the panel an overlay.
  createAll(FilterToggleButton);
}
