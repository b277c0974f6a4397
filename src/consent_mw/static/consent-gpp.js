/* consent_mw: the IAB GPP CMP API (__gpp, version 1.1) over the GPP string the server
   wrote for this visitor (the JSON block #consent-gpp). Loaded only where the policy
   writes GPP. Commands: ping, addEventListener, removeEventListener, hasSection,
   getSection, getField, and getGPPData (CMP API 1.0). Calls queued by a stub before
   this ran (__gpp.queue, __gppQueue) are answered; framed scripts find the API through
   the __gppLocator frame and postMessage (__gppCall / __gppReturn). */
(function (w, d) {
  'use strict';
  try {
    var block = d.getElementById('consent-gpp');
    if (!block) return;
    var D = JSON.parse(block.textContent);
    var cur = D.now ? D.denied : D.granted;
    var display = D.prompt ? 'visible' : 'hidden';
    var listeners = {};
    var nextId = 1;
    var queued = [];
    if (w.__gpp && w.__gpp.queue) queued = queued.concat(w.__gpp.queue);
    if (w.__gppQueue) queued = queued.concat(w.__gppQueue);

    var ping = function () {
      return {
        gppVersion: '1.1',
        cmpStatus: 'loaded',
        cmpDisplayStatus: display,
        signalStatus: 'ready',
        supportedAPIs: cur.supportedAPIs.slice(),
        cmpId: 0, // not an IAB-registered CMP: the site writes its own US sections
        sectionList: cur.sectionList.slice(),
        applicableSections: cur.applicableSections.slice(),
        gppString: cur.gppString,
        parsedSections: JSON.parse(JSON.stringify(cur.parsedSections)),
      };
    };
    var section = function (name) {
      var found = cur.parsedSections[name];
      return found ? JSON.parse(JSON.stringify(found)) : null;
    };
    var event = function (name, id, data) {
      return { eventName: name, listenerId: id, data: data, pingData: ping() };
    };
    var fire = function (name, data) {
      Object.keys(listeners).forEach(function (id) {
        try {
          listeners[id](event(name, +id, data), true);
        } catch (e) {}
      });
    };

    var commands = {
      ping: function () {
        return ping();
      },
      addEventListener: function (cb) {
        var id = nextId++;
        listeners[id] = cb;
        return event('listenerRegistered', id, true);
      },
      removeEventListener: function (cb, id) {
        var had = Object.prototype.hasOwnProperty.call(listeners, id);
        delete listeners[id];
        return had;
      },
      hasSection: function (cb, name) {
        return Object.prototype.hasOwnProperty.call(cur.parsedSections, name);
      },
      getSection: function (cb, name) {
        return section(name);
      },
      getField: function (cb, path) {
        var parts = String(path).split('.');
        var found = section(parts[0]);
        return found && parts.length === 2 && parts[1] in found ? found[parts[1]] : null;
      },
      getGPPData: function () {
        var p = ping();
        return {
          sectionId: 3,
          gppVersion: 1,
          gppString: p.gppString,
          applicableSections: p.applicableSections,
          parsedSections: p.parsedSections,
          pingData: p,
        };
      },
    };

    var gpp = function (command, callback, parameter) {
      var run = Object.prototype.hasOwnProperty.call(commands, command) && commands[command];
      if (typeof callback !== 'function') callback = function () {};
      if (!run) {
        callback(null, false);
        return;
      }
      var value;
      try {
        value = run(callback, parameter);
      } catch (e) {
        callback(null, false);
        return;
      }
      callback(value, true);
    };
    w.__gpp = gpp;
    queued.forEach(function (args) {
      try {
        gpp.apply(null, Array.prototype.slice.call(args));
      } catch (e) {}
    });

    // After a choice in the banner: the string the server wrote for that choice.
    d.addEventListener('consent:change', function (e) {
      var m = e.detail && e.detail.consent_mode;
      if (!m) return;
      var next = m.ad_storage === 'granted' ? D.granted : D.denied;
      var shown = display;
      display = 'hidden';
      if (shown !== display) fire('cmpDisplayStatus', display);
      if (next.gppString === cur.gppString) return;
      fire('signalStatus', 'not ready');
      cur = next;
      Object.keys(cur.parsedSections).forEach(function (name) {
        fire('sectionChange', name);
      });
      fire('signalStatus', 'ready');
    });

    // Framed scripts: a frame named __gppLocator marks the window with the API.
    var locate = function () {
      if (w.frames.__gppLocator || !d.body) return;
      var f = d.createElement('iframe');
      f.name = '__gppLocator';
      f.setAttribute('hidden', '');
      f.setAttribute('title', 'GPP locator');
      d.body.appendChild(f);
    };
    if (d.body) locate();
    else d.addEventListener('DOMContentLoaded', locate);
    w.addEventListener('message', function (e) {
      var data = e.data;
      if (typeof data === 'string') {
        try {
          data = JSON.parse(data);
        } catch (x) {
          return;
        }
      }
      var call = data && data.__gppCall;
      if (!call || !e.source) return;
      gpp(
        call.command,
        function (value, success) {
          var reply = { __gppReturn: { returnValue: value, success: success, callId: call.callId } };
          e.source.postMessage(typeof e.data === 'string' ? JSON.stringify(reply) : reply, '*');
        },
        call.parameter,
        call.version
      );
    });
  } catch (e) {}
})(window, document);
