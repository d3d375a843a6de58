/* geo-sppa cluster map: layers, popups, filters, search and road labels built in the browser
   from one embedded data table (GS.load). Every text in the table is HTML-escaped by geo-sppa
   before it is embedded, so it is inserted as markup-free text. */
var GS = (function () {
  'use strict';
  var data = {}, siteLayers = [], collisionMarkers = [], applyFilter = null;
  var SEV = ['fatal', 'serious', 'slight', 'other'];
  var STYLE = {fatal: [6, '#111111'], serious: [4.5, '#7b3294'], slight: [3.5, '#2c7bb6'],
               other: [3.5, '#999999']};
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  window.geoSppaDrawn = window.geoSppaDrawn || {};

  function dateText(d) {
    if (!d) { return ''; }
    var day = d % 100, month = Math.floor(d / 100) % 100;
    return (day < 10 ? '0' : '') + day + ' ' + MONTHS[month - 1] + ' ' + Math.floor(d / 10000);
  }
  function renderer(pane, n, svgLimit) {
    return n > svgLimit ? L.canvas({pane: pane, padding: 0.3}) : L.svg({pane: pane});
  }
  function unescaped(text) {
    // The embedded texts are HTML-escaped; this is the plain text they stand for.
    var e = document.createElement('span');
    e.innerHTML = text;
    return e.textContent;
  }
  function dossierLink(s) {
    // Only sites the dossier pages (the top data.dossier.max_rank, 0: all) get a link.
    var d = data.dossier;
    if (!d || !s.rank_no || (d.max_rank && s.rank_no > d.max_rank)) { return ''; }
    return '<p class="gs-dossier"><a href="' + d.href + '#' + encodeURIComponent(unescaped(s.id)) +
      '">Site dossier page</a></p>';
  }
  function sitePopup(i) {
    var s = data.sites[i], c = data.collisions;
    var rows = [['Collisions', s.counts], ['By year', s.by_year], ['Casualties', s.casualties],
                ['Cost', s.cost], ['Criterion met', s.criterion], ['Trend', s.trend]];
    var table = rows.filter(function (r) { return r[1] !== ''; }).map(function (r) {
      return '<tr><th>' + r[0] + '</th><td>' + r[1] + '</td></tr>';
    }).join('');
    var list = s.hits.map(function (j) {
      return '<tr><td>' + dateText(c.d[j]) + '</td><td>' + c.times[c.t[j]] + '</td><td>' +
        SEV[c.s[j]] + '</td></tr>';
    }).join('');
    return '<div class="gs-popup" data-site="' + s.id + '"><h4>' + s.rank +
      '<span class="gs-name">' + s.name + '</span></h4><p class="gs-sub">' + s.kind +
      ' \u00b7 site ' + s.id + '</p><table>' + table + '</table><div class="gs-list"><table>' +
      '<tr><th>Date</th><th>Time</th><th>Severity</th></tr>' + list + '</table></div>' +
      dossierLink(s) + '</div>';
  }
  function collisionTip(j) {
    var c = data.collisions, sev = SEV[c.s[j]], place = c.places[c.p[j]];
    return '<b>' + sev.charAt(0).toUpperCase() + sev.slice(1) + '</b> ' + dateText(c.d[j]) +
      ' ' + c.times[c.t[j]] + (place ? '<br>' + place : '');
  }
  function collisions(group, map, opts) {
    var c = data.collisions, n = c.s.length, rend = renderer('gs-collisions', n, opts.svg_limit);
    for (var j = 0; j < n; j++) {
      var st = STYLE[SEV[c.s[j]]];
      var mk = L.circleMarker([c.lat[j], c.lon[j]], {
        renderer: rend, pane: 'gs-collisions', radius: st[0], fillColor: st[1],
        fillOpacity: 0.85, color: '#ffffff', weight: 0.8,
        className: 'gs-collision gs-collision-' + SEV[c.s[j]]});
      mk.bindTooltip(collisionTip.bind(null, j));
      collisionMarkers.push(mk);
    }
    applyFilter = function (sev, fromYear, toYear) {
      group.clearLayers();
      var shown = 0;
      for (var k = 0; k < n; k++) {
        var y = Math.floor(c.d[k] / 10000);
        if (sev[c.s[k]] && (!y || (y >= fromYear && y <= toYear))) {
          group.addLayer(collisionMarkers[k]);
          shown++;
        }
      }
      window.geoSppaDrawn.collisions = shown;
    };
    applyFilter([true, true, true, true], -Infinity, Infinity);
  }
  function filterControl(map) {
    var c = data.collisions, years = {};
    c.d.forEach(function (d) { if (d) { years[Math.floor(d / 10000)] = true; } });
    var ys = Object.keys(years).map(Number).sort();
    var control = L.control({position: 'topleft'});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', 'gs-filter leaflet-bar');
      var html = '<b>Collision points</b>';
      ['fatal', 'serious', 'slight'].forEach(function (s) {
        html += '<label><input type="checkbox" checked data-sev="' + s + '"> ' + s + '</label>';
      });
      var options = ys.map(function (y) { return '<option>' + y + '</option>'; }).join('');
      html += '<label>from <select data-year="from">' + options + '</select></label>' +
        '<label>to <select data-year="to">' + options + '</select></label>';
      div.innerHTML = html;
      var to = div.querySelector('[data-year="to"]');
      if (ys.length) { to.value = String(ys[ys.length - 1]); }
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.on(div, 'change', function () {
        var sev = SEV.map(function (s) {
          var box = div.querySelector('[data-sev="' + s + '"]');
          return box ? box.checked : true;
        });
        var lo = Number(div.querySelector('[data-year="from"]').value) || -Infinity;
        var hi = Number(to.value) || Infinity;
        if (applyFilter) { applyFilter(sev, lo, hi); }
      });
      return div;
    };
    control.addTo(map);
  }
  function keep(group, shown, want, make) {
    // Remove the labels no longer wanted and add the new ones; unchanged labels stay put (a
    // removed Leaflet tooltip fades out for 200 ms, so redrawing all would flicker and double).
    Object.keys(shown).forEach(function (key) {
      if (!want[key]) { group.removeLayer(shown[key]); delete shown[key]; }
    });
    Object.keys(want).forEach(function (key) {
      if (!shown[key]) { shown[key] = make(key, want[key]).addTo(group); }
    });
  }
  function siteLayer(i, layer) { siteLayers[i] = layer; }
  function centre(layer) {
    return layer.getLatLng ? layer.getLatLng() : layer.getCenter();
  }
  function ranks(group, map, opts) {
    // Rank numbers of the best-ranked sites in view only: thousands of labels would take minutes
    // to lay out, and would cover each other at regional zoom.
    var order = data.sites.map(function (s, i) { return i; }).filter(function (i) {
      return data.sites[i].rank_no && siteLayers[i];
    }).sort(function (a, b) { return data.sites[a].rank_no - data.sites[b].rank_no; });
    var shown = {};
    function redraw() {
      var view = map.getBounds().pad(0.05), want = {};
      for (var k = 0, placed = 0; k < order.length && placed < opts.max_labels; k++) {
        if (view.contains(centre(siteLayers[order[k]]))) { want[order[k]] = true; placed++; }
      }
      keep(group, shown, want, function (i) {
        return L.tooltip({permanent: true, direction: 'center', pane: 'gs-ranks',
          interactive: false, className: 'gs-rank'}).setLatLng(centre(siteLayers[i]))
          .setContent(String(data.sites[i].rank_no));
      });
      window.geoSppaDrawn.site_ranks = Object.keys(shown).length;
    }
    group.on('add', redraw);
    map.on('moveend', function () { if (map.hasLayer(group)) { redraw(); } });
    window.geoSppaDrawn.site_ranks = 0;
  }
  function lineBounds(flat) {
    if (!flat.bounds) {
      var pts = [];
      for (var k = 1; k < flat.length; k += 2) { pts.push([flat[k], flat[k + 1]]); }
      flat.bounds = L.latLngBounds(pts);
    }
    return flat.bounds;
  }
  function labelPoint(flat, map, box) {
    // A point a third of the way along the first segment of a [name, lat, lon, ...] line with at
    // least 60 px in view: off the centre, where crossing roads would put their labels together.
    for (var k = 1; k + 3 < flat.length; k += 2) {
      var a = map.latLngToContainerPoint([flat[k], flat[k + 1]]);
      var b = map.latLngToContainerPoint([flat[k + 2], flat[k + 3]]);
      var part = L.LineUtil.clipSegment(a, b, box, false, true);
      if (part && part[0].distanceTo(part[1]) >= 60) {
        return map.containerPointToLatLng(part[0].add(part[1].subtract(part[0]).multiplyBy(0.35)));
      }
    }
    return null;
  }
  function roads(group, map, opts) {
    var r = data.roads, lines = r.lines, rend = renderer('gs-roads', lines.length, opts.svg_limit);
    var labels = L.layerGroup().addTo(map);
    // One path per road line when few (SVG); else multi-part paths of 1,000 lines (canvas).
    var chunk = lines.length > opts.svg_limit ? 1000 : 1;
    for (var lo = 0; lo < lines.length; lo += chunk) {
      var parts = lines.slice(lo, lo + chunk).map(function (flat) {
        var pts = [];
        for (var k = 1; k < flat.length; k += 2) { pts.push([flat[k], flat[k + 1]]); }
        return pts;
      });
      L.polyline(chunk === 1 ? parts[0] : parts, {renderer: rend, pane: 'gs-roads',
        interactive: false, className: 'gs-road', color: '#7d858e', weight: 2.5, opacity: 0.8})
        .addTo(group);
    }
    window.geoSppaDrawn.roads = lines.length;
    var shown = {};
    function relabel() {
      var want = {}, placed = 0;
      if (map.hasLayer(group) && map.getZoom() >= opts.label_zoom) {
        var view = map.getBounds().pad(0.2), box = L.bounds([0, 0], map.getSize());
        for (var k = 0; k < lines.length && placed < 250; k++) {
          var flat = lines[k], name = r.names[flat[0]];
          if (!name || !view.intersects(lineBounds(flat))) { continue; }
          var at = labelPoint(flat, map, box);
          if (!at) { continue; }
          var px = map.latLngToContainerPoint(at);
          var cell = flat[0] + '|' + Math.floor(px.x / 220) + ':' + Math.floor(px.y / 160);
          if (want[cell]) { continue; }
          want[cell] = [at, name];
          placed++;
        }
      }
      keep(labels, shown, want, function (key, spec) {
        return L.tooltip({permanent: true, direction: 'center', className: 'gs-road-label',
          interactive: false}).setLatLng(spec[0]).setContent(spec[1]);
      });
      window.geoSppaDrawn.road_labels = placed;
    }
    map.on('zoomend moveend overlayadd overlayremove', relabel);
    relabel();
  }
  function search(map) {
    var control = L.control({position: 'topleft'});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', 'gs-search leaflet-bar');
      div.innerHTML = '<input type="search" placeholder="Find a site or road" ' +
        'aria-label="Find a site or road"><ul class="gs-results"></ul>';
      var input = div.querySelector('input'), list = div.querySelector('ul');
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      function plain(s) { return unescaped(s).toLowerCase(); }
      var siteText = data.sites.map(function (s) { return plain(s.rank + s.name + ' ' + s.id); });
      var roadText = (data.roads ? data.roads.names : []).map(plain);
      function show() {
        var q = input.value.trim().toLowerCase(), out = [];
        if (q.length) {
          siteText.forEach(function (t, i) {
            if (out.length < 12 && t.indexOf(q) >= 0) { out.push(['site', i]); }
          });
          roadText.forEach(function (t, i) {
            if (out.length < 12 && t && t.indexOf(q) >= 0) { out.push(['road', i]); }
          });
        }
        list.innerHTML = out.map(function (o) {
          var label = o[0] === 'site' ? data.sites[o[1]].rank + data.sites[o[1]].name +
            ' <small>site ' + data.sites[o[1]].id + '</small>' :
            data.roads.names[o[1]] + ' <small>road</small>';
          return '<li data-kind="' + o[0] + '" data-i="' + o[1] + '">' + label + '</li>';
        }).join('');
      }
      L.DomEvent.on(input, 'input', show);
      L.DomEvent.on(list, 'click', function (e) {
        var li = e.target.closest('li');
        if (!li) { return; }
        var i = Number(li.getAttribute('data-i'));
        if (li.getAttribute('data-kind') === 'site' && siteLayers[i]) {
          var layer = siteLayers[i];
          map.setView(centre(layer), Math.max(map.getZoom(), 17));
          layer.openPopup(centre(layer));
        } else if (data.roads) {
          var pts = [];
          data.roads.lines.forEach(function (flat) {
            if (flat[0] !== i) { return; }
            for (var k = 1; k < flat.length; k += 2) { pts.push([flat[k], flat[k + 1]]); }
          });
          if (pts.length) { map.fitBounds(L.latLngBounds(pts), {maxZoom: 17}); }
        }
      });
      return div;
    };
    control.addTo(map);
  }
  function follow(map, dossier) {
    // clusters.html#<site_id> (the dossier's links back) opens that site's popup, zoomed in;
    // dossier ({href, max_rank} or null) is where the popups link to.
    data.dossier = dossier;
    function open() {
      var want = '';
      try { want = decodeURIComponent(window.location.hash.slice(1)); } catch (e) { return; }
      if (!want) { return; }
      for (var i = 0; i < data.sites.length; i++) {
        if (siteLayers[i] && unescaped(data.sites[i].id) === want) {
          var layer = siteLayers[i];
          map.setView(centre(layer), Math.max(map.getZoom(), 17));
          layer.openPopup(centre(layer));
          window.geoSppaDrawn.followed = want;
          return;
        }
      }
    }
    window.addEventListener('hashchange', open);
    setTimeout(open, 0);  // after the map's own first view is set
  }
  function attribution(map, text) {
    if (!map.attributionControl) { L.control.attribution().addTo(map); }
    map.attributionControl.addAttribution(text);
  }
  return {load: function (d) { data = d; }, sitePopup: sitePopup, siteLayer: siteLayer,
          collisions: collisions, filterControl: filterControl, ranks: ranks, roads: roads,
          search: search, follow: follow, attribution: attribution};
})();
