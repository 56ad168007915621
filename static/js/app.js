// Countersign's small helpers. No inline script anywhere (strict CSP), so
// behaviour hangs off data attributes.
(function () {
  'use strict';

  // data-confirm on a form (or a submit button): ask before submitting.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // htmx requests from elements (or forms) with data-confirm.
  document.addEventListener('htmx:confirm', function (event) {
    var elt = event.detail.elt;
    var holder = elt.closest && elt.closest('[data-confirm]');
    if (!holder) { return; }
    event.preventDefault();
    if (window.confirm(holder.getAttribute('data-confirm'))) {
      event.detail.issueRequest(true);
    }
  });

  // data-copy: copy text to the clipboard.
  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-copy]');
    if (!button || !navigator.clipboard) { return; }
    var label = button.textContent;
    navigator.clipboard.writeText(button.getAttribute('data-copy')).then(function () {
      button.textContent = 'Copied';
      window.setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  // data-autosubmit: submit the form when the control changes.
  document.addEventListener('change', function (event) {
    var control = event.target;
    if (control.hasAttribute && control.hasAttribute('data-autosubmit') && control.form) {
      if (control.form.requestSubmit) { control.form.requestSubmit(); } else { control.form.submit(); }
    }
  });

  // A 422 answer re-renders a form with its messages: swap it in when the
  // form opts in with data-swap-invalid, instead of treating it as an error.
  document.addEventListener('htmx:beforeSwap', function (event) {
    var xhr = event.detail.xhr;
    // detail.elt is the swap target; the requesting element is in requestConfig.
    var elt = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
    if (xhr && xhr.status === 422 && elt && elt.closest && elt.closest('[data-swap-invalid]')) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A live check (the schedule preview) sends the messages of fields out of
  // band into their [data-error-for] slots: mark each field invalid or valid
  // to match, as the re-rendered form would.
  document.addEventListener('htmx:oobAfterSwap', function (event) {
    var slot = event.detail.target;
    var id = slot && slot.getAttribute && slot.getAttribute('data-error-for');
    var field = id && document.getElementById(id);
    if (!field) { return; }
    var invalid = slot.textContent.trim() !== '';
    if (invalid) {
      field.setAttribute('aria-invalid', 'true');
    } else {
      field.removeAttribute('aria-invalid');
    }
    var wrapper = field.closest('.field');
    if (wrapper) { wrapper.classList.toggle('has-error', invalid); }
  });

  // htmx errors: show the server's message instead of failing silently.
  function showError(html, fallback) {
    var region = document.getElementById('flash-region');
    if (!region) { return; }
    var box = document.createElement('div');
    box.innerHTML = html || '';
    var alert = box.querySelector('.alert');
    if (!alert) {
      alert = document.createElement('div');
      alert.className = 'alert alert-error';
      alert.setAttribute('role', 'alert');
      alert.textContent = fallback;
    }
    region.replaceChildren(alert);
    region.scrollIntoView({ block: 'nearest' });
  }
  document.addEventListener('htmx:responseError', function (event) {
    var xhr = event.detail.xhr;
    showError(xhr && xhr.responseText, 'The request failed (' + (xhr ? xhr.status : '?') + '). Reload the page and try again.');
  });
  document.addEventListener('htmx:sendError', function () {
    showError('', 'Countersign could not be reached. Check your connection and try again.');
  });

  // A form that came back with errors: put the keyboard on the first field
  // to fix (screen readers then read its message, tied by aria-describedby).
  function focusFirstInvalid(root) {
    var field = root.querySelector('main [aria-invalid="true"], [aria-invalid="true"]');
    if (field && typeof field.focus === 'function') {
      field.focus();
    }
  }
  // On a narrow screen the navigation scrolls sideways: bring the current
  // page's link into view (the nav alone scrolls, not the page).
  function showCurrentNavLink() {
    var nav = document.querySelector('.nav');
    var link = nav && nav.querySelector('[aria-current="page"]');
    if (link && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = Math.max(0, link.offsetLeft - nav.offsetLeft - (nav.clientWidth - link.offsetWidth) / 2);
    }
  }
  function ready() {
    focusFirstInvalid(document);
    showCurrentNavLink();
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', ready);
  } else {
    ready();
  }
}());
