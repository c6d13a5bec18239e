// reskin review site: the notes form of a served site (`reskin review --serve`).
// A static site (no data-served on <body>) shows the notes baked into the page and runs nothing.
(function () {
  "use strict";
  var form = document.getElementById("note-form");
  if (!form || !document.body.hasAttribute("data-served")) return;
  var list = document.getElementById("notes");
  var status = document.getElementById("note-status");
  var where = { episode: form.dataset.episode, shot: form.dataset.shot };

  function show(notes) {
    list.textContent = "";
    notes.forEach(function (n) {
      var li = document.createElement("li");
      var time = document.createElement("time");
      time.textContent = n.time || "";
      li.appendChild(time);
      li.appendChild(document.createTextNode(" " + n.note));
      list.appendChild(li);
    });
  }

  function answer(response) {
    return response.json().then(function (data) {
      if (!response.ok) throw new Error(data.error || response.statusText);
      return data;
    });
  }

  var query = "?episode=" + encodeURIComponent(where.episode) +
              "&shot=" + encodeURIComponent(where.shot);
  fetch("/api/notes" + query).then(answer).then(function (data) { show(data.notes); })
    .catch(function (err) { status.textContent = "notes not loaded: " + err.message; });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = form.elements.note.value;
    if (!text.trim()) { status.textContent = "the note is empty"; return; }
    status.textContent = "saving...";
    fetch("/api/notes", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ episode: where.episode, shot: where.shot, note: text })
    }).then(answer).then(function (data) {
      form.elements.note.value = "";
      show(data.notes);
      status.textContent = "saved to review/notes.yaml";
    }).catch(function (err) { status.textContent = "not saved: " + err.message; });
  });
})();
