// The upload form, with a preview and a progress bar. Without this script (or if it fails)
// the form posts the plain way and the server answers the same: this only adds comfort.
"use strict";

(() => {
  const SCRIPT_HEADER = ["X-Requested-With", "XMLHttpRequest"];

  function enhance(card) {
    const form = card.querySelector("form.upload-form");
    if (!form || !window.FormData || !window.XMLHttpRequest || form.dataset.enhanced) return;
    form.dataset.enhanced = "yes";
    const input = form.querySelector('input[type="file"]');
    const preview = form.querySelector(".upload-preview");
    const progress = form.querySelector(".upload-progress");
    const bar = progress.querySelector("progress");
    const status = progress.querySelector(".upload-status");
    const button = form.querySelector('button[type="submit"]');
    const maxBytes = Number(form.dataset.maxBytes) || 0;
    const tooLarge = `The file is larger than the ${form.dataset.maxSize} limit.`;
    const label = button.textContent;
    let previewUrl = null;

    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      setFileError(input, file && maxBytes && file.size > maxBytes ? tooLarge : null);
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = null;
      preview.hidden = true;
      if (file && file.type.startsWith("image/") && window.URL && URL.createObjectURL) {
        previewUrl = URL.createObjectURL(file);
        preview.onload = () => { preview.hidden = false; };
        preview.onerror = () => { preview.hidden = true; };
        preview.src = previewUrl;
      }
    });

    form.addEventListener("submit", (event) => {
      const file = input.files && input.files[0];
      if (file && maxBytes && file.size > maxBytes) {
        event.preventDefault();
        setFileError(input, tooLarge);
        input.focus();
        return;
      }
      event.preventDefault();
      send();
    });

    function send() {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader(...SCRIPT_HEADER);
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        const percent = Math.floor((event.loaded / event.total) * 100);
        bar.value = percent;
        status.textContent = `Uploading… ${percent}%`;
      });
      xhr.upload.addEventListener("load", () => {
        bar.removeAttribute("value"); // indeterminate while the server checks the file
        status.textContent = "Checking your photo…";
      });
      xhr.addEventListener("load", () => answered(xhr));
      for (const failure of ["error", "abort", "timeout"]) {
        xhr.addEventListener(failure, () => {
          busy(false);
          showFormError("The upload did not finish. Check your connection and try again.");
        });
      }
      busy(true);
      xhr.send(new FormData(form));
    }

    function answered(xhr) {
      const type = xhr.getResponseHeader("Content-Type") || "";
      if (xhr.status === 200 && type.startsWith("application/json")) {
        status.textContent = "Uploaded. Opening your photo…";
        window.location.assign(JSON.parse(xhr.responseText).location);
        return;
      }
      if (xhr.responseURL && new URL(xhr.responseURL).pathname !== new URL(form.action).pathname) {
        window.location.assign(xhr.responseURL); // redirected, to log in say: go there
        return;
      }
      const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const answer = page.getElementById("upload-card");
      if (answer) {
        // The server's own form, with its messages under the fields.
        const fresh = document.adoptNode(answer);
        card.replaceWith(fresh);
        enhance(fresh);
        const invalid = fresh.querySelector('[aria-invalid="true"]');
        if (invalid) invalid.focus();
        return;
      }
      // Any other page (an expired form, an outage): show it as the browser would have.
      document.title = page.title;
      document.body.replaceWith(document.adoptNode(page.body));
    }

    function busy(on) {
      button.disabled = on;
      button.textContent = on ? "Uploading…" : label;
      form.setAttribute("aria-busy", on ? "true" : "false");
      progress.hidden = !on;
      if (on) {
        bar.value = 0;
        status.textContent = "Uploading… 0%";
        for (const old of card.querySelectorAll(".flash-error")) old.remove();
      }
    }

    function showFormError(message) {
      for (const old of card.querySelectorAll(".flash-error")) old.remove();
      const note = document.createElement("p");
      note.className = "flash flash-error";
      note.setAttribute("role", "alert");
      note.textContent = message;
      form.before(note);
    }
  }

  function setFileError(input, message) {
    const field = input.closest(".field");
    for (const old of field.querySelectorAll(".error")) old.remove();
    const hint = field.querySelector(".hint");
    const described = hint ? [hint.id] : [];
    field.classList.toggle("has-error", Boolean(message));
    if (message) {
      const error = document.createElement("p");
      error.className = "error";
      error.id = `${input.id}-error-1`;
      error.textContent = message;
      field.append(error);
      described.push(error.id);
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  const card = document.getElementById("upload-card");
  if (card) enhance(card);
})();
