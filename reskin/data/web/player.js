// reskin web player: plays an episode's shots along the path the viewer chooses.
// The graph (embedded in index.html) lists nodes {id, video, subtitles, cues, next, choice}.
(function () {
  "use strict";
  var graph = JSON.parse(document.getElementById("graph").textContent);
  var nodes = {};
  graph.nodes.forEach(function (n) { nodes[n.id] = n; });
  var video = document.getElementById("video");
  var track = document.getElementById("track");
  var preload = document.getElementById("preload");
  var subtitle = document.getElementById("subtitle");
  var overlay = document.getElementById("choice");
  var prompt = document.getElementById("prompt");
  var options = document.getElementById("options");
  var bar = document.getElementById("countdown-bar");
  var start = document.getElementById("start");
  var end = document.getElementById("end");
  var state = { current: null, path: [], choosing: false, ended: false, chosen: [] };
  var timer = null;

  function showCue() {
    // our own subtitle line (the <track> is kept hidden): the same look on every browser
    var node = nodes[state.current];
    var t = video.currentTime;
    var cue = node && node.cues.find(function (c) { return t >= c.start && t < c.end; });
    subtitle.textContent = cue ? cue.text : "";
    subtitle.hidden = !cue;
  }

  function preloadNext(node) {
    // the likely next shot (a choice's default) is fetched while this one plays
    var next = node.choice ? node.choice.options[node.choice.default].goto : node.next[0];
    if (next && nodes[next]) { preload.src = nodes[next].video; preload.load(); }
  }

  function play(id) {
    var node = nodes[id];
    if (!node) { finish(); return; }
    hideChoice();
    state.current = id;
    state.path.push(id);
    end.hidden = true;
    video.src = node.video;
    track.src = node.subtitles;
    if (video.textTracks[0]) { video.textTracks[0].mode = "hidden"; }
    subtitle.hidden = true;
    var started = video.play();
    if (started && started.catch) { started.catch(function () {}); }
    preloadNext(node);
  }

  function showChoice(choice) {
    state.choosing = true;
    prompt.textContent = choice.prompt;
    options.textContent = "";
    choice.options.forEach(function (opt, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = opt.label;
      b.dataset.goto = opt.goto;
      if (i === choice.default) { b.className = "default"; }
      b.addEventListener("click", function () { choose(i); });
      options.appendChild(b);
    });
    overlay.hidden = false;
    // the bar empties over the timeout; then the default option is taken
    bar.style.transition = "none";
    bar.style.transform = "scaleX(1)";
    void bar.offsetWidth;
    bar.style.transition = "transform " + choice.timeout + "s linear";
    bar.style.transform = "scaleX(0)";
    timer = setTimeout(function () { choose(choice.default, true); }, choice.timeout * 1000);
  }

  function hideChoice() {
    if (timer) { clearTimeout(timer); timer = null; }
    state.choosing = false;
    overlay.hidden = true;
  }

  function choose(i, timedOut) {
    var node = nodes[state.current];
    if (!node || !node.choice) { return; }
    var opt = node.choice.options[i];
    state.chosen.push({ shot: node.id, option: i, timedOut: !!timedOut });
    play(opt.goto);
  }

  function finish() {
    hideChoice();
    state.ended = true;
    end.hidden = false;
  }

  function onEnded() {
    var node = nodes[state.current];
    if (!node) { return; }
    if (node.choice) { showChoice(node.choice); }
    else if (node.next.length) { play(node.next[0]); }
    else { finish(); }
  }

  video.addEventListener("timeupdate", showCue);
  video.addEventListener("seeked", showCue);
  video.addEventListener("ended", onEnded);
  start.addEventListener("click", function () {
    start.hidden = true;
    play(graph.start);
  });
  // a hook for tests and tools: the graph, where playback is, and the player's actions
  // (hold: keep the choice on screen, its timeout stopped: for screenshots and reviews)
  function hold() { if (timer) { clearTimeout(timer); timer = null; } }
  window.reskinPlayer = { graph: graph, state: state, play: play, choose: choose,
                          showCue: showCue, hold: hold };
})();
