//! Elements described by data ([`Node`]), drawn and kept up to date by one piece of code.
//!
//! A `view!` compiles its own rendering code for every element shape it names (each
//! attribute set, each child list, each closure type), which made the views most of the
//! bundle. A [`Node`] is a tag, its attributes, its children and at most one event handler,
//! all values: every screen is drawn by [`Node::build`] and updated in place by
//! [`Node::rebuild`], which compares the new description with the one drawn, child by child,
//! and touches only what differs (an element whose tag changed is replaced). Elements keep
//! their identity across updates, so focus, a typed value and a live region's node stay.
//!
//! A [`Node`] is a Leptos view: a reactive closure returning one is drawn again whenever
//! what it read changes.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use leptos::tachys::hydration::Cursor;
use leptos::tachys::renderer::types;
use leptos::tachys::view::{Mountable, Position, PositionState, Render, RenderHtml};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A value, static or made for the occasion.
pub type Str = Cow<'static, str>;

/// What an element does on its event.
pub type Handler = Arc<dyn Fn(web_sys::Event) + Send + Sync>;

/// One element: tag, attributes, children, and at most one event handler.
pub struct Node {
    tag: &'static str,
    attrs: Vec<(&'static str, Str)>,
    kids: Vec<Kid>,
    on: Option<(&'static str, Handler)>,
}

/// A child: an element or text (always a text node, never markup).
pub enum Kid {
    El(Node),
    Text(Str),
}

/// An element `tag` with fixed attributes (name, value).
#[inline(never)]
pub fn el(tag: &'static str, attrs: &[(&'static str, &'static str)]) -> Node {
    Node {
        tag,
        attrs: attrs.iter().map(|&(k, v)| (k, Cow::Borrowed(v))).collect(),
        kids: Vec::new(),
        on: None,
    }
}

impl Node {
    /// One more attribute.
    pub fn attr(self, name: &'static str, value: impl Into<Str>) -> Node {
        self.attr_str(name, value.into())
    }

    // Out of line, like the other builders: inlined, each call site carried its own copy.
    #[inline(never)]
    fn attr_str(mut self, name: &'static str, value: Str) -> Node {
        self.attrs.push((name, value));
        self
    }

    /// A boolean attribute: present (empty) or absent.
    #[inline(never)]
    pub fn flag(self, name: &'static str, on: bool) -> Node {
        match on {
            true => self.attr(name, ""),
            false => self,
        }
    }

    /// A text child.
    pub fn text(self, text: impl Into<Str>) -> Node {
        self.text_str(text.into())
    }

    #[inline(never)]
    fn text_str(mut self, text: Str) -> Node {
        self.kids.push(Kid::Text(text));
        self
    }

    /// Element children (none, one or several).
    pub fn kids(mut self, kids: impl IntoIterator<Item = Node>) -> Node {
        for kid in kids {
            self = self.kid(kid);
        }
        self
    }

    #[inline(never)]
    fn kid(mut self, kid: Node) -> Node {
        self.kids.push(Kid::El(kid));
        self
    }

    /// The handler of `event` on this element.
    pub fn on(
        mut self,
        event: &'static str,
        handler: impl Fn(web_sys::Event) + Send + Sync + 'static,
    ) -> Node {
        self.on = Some((event, Arc::new(handler)));
        self
    }
}

/// A drawn element, with what it was drawn from.
pub struct NodeState {
    el: web_sys::Element,
    tag: &'static str,
    event: Option<&'static str>,
    attrs: Vec<(&'static str, Str)>,
    kids: Vec<KidState>,
    /// The handler in force and the listener calling it (kept alive with the element).
    handler: Option<Listener>,
}

/// The handler an element's listener calls (replaced when the element is drawn again) and
/// that listener.
type Listener = (Rc<RefCell<Handler>>, Closure<dyn Fn(web_sys::Event)>);

/// A drawn child.
pub enum KidState {
    El(NodeState),
    Text(web_sys::Text, Str),
}

const SVG: &str = "http://www.w3.org/2000/svg";

fn document() -> web_sys::Document {
    leptos::tachys::dom::document()
}

impl KidState {
    fn node(&self) -> &web_sys::Node {
        match self {
            KidState::El(s) => &s.el,
            KidState::Text(t, _) => t,
        }
    }
}

impl Kid {
    fn build(self) -> KidState {
        match self {
            Kid::El(n) => KidState::El(n.build()),
            Kid::Text(t) => KidState::Text(document().create_text_node(&t), t),
        }
    }

    fn patch(self, state: &mut KidState) {
        match (self, state) {
            (Kid::El(n), KidState::El(s)) => n.rebuild(s),
            (Kid::Text(t), KidState::Text(node, old)) => {
                if t != *old {
                    node.set_data(&t);
                    *old = t;
                }
            }
            (kid, state) => {
                let new = kid.build();
                replace(state.node(), new.node());
                *state = new;
            }
        }
    }
}

fn replace(old: &web_sys::Node, new: &web_sys::Node) {
    if let Some(parent) = old.parent_node() {
        let _ = parent.replace_child(new, old);
    }
}

fn remove(node: &web_sys::Node) {
    node.unchecked_ref::<web_sys::Element>().remove();
}

impl Render for Node {
    type State = NodeState;

    fn build(self) -> NodeState {
        let doc = document();
        let el = match matches!(self.tag, "svg" | "rect" | "path") {
            true => doc.create_element_ns(Some(SVG), self.tag),
            false => doc.create_element(self.tag),
        }
        .unwrap_throw();
        for (k, v) in &self.attrs {
            let _ = el.set_attribute(k, v);
        }
        let kids: Vec<KidState> = self.kids.into_iter().map(Kid::build).collect();
        for kid in &kids {
            let _ = el.append_child(kid.node());
        }
        let handler = self.on.as_ref().map(|(event, handler)| {
            let current = Rc::new(RefCell::new(handler.clone()));
            let calls = current.clone();
            let listener = Closure::<dyn Fn(web_sys::Event)>::new(move |ev| {
                let handler = calls.borrow().clone();
                handler(ev)
            });
            let _ = el.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
            (current, listener)
        });
        NodeState {
            el,
            tag: self.tag,
            event: self.on.map(|(event, _)| event),
            attrs: self.attrs,
            kids,
            handler,
        }
    }

    fn rebuild(self, state: &mut NodeState) {
        // Another element, or another event: drawn anew in its place.
        if self.tag != state.tag || self.on.as_ref().map(|o| o.0) != state.event {
            let new = self.build();
            replace(&state.el, &new.el);
            *state = new;
            return;
        }
        for (k, v) in &self.attrs {
            if state.attrs.iter().find(|a| a.0 == *k).map(|a| &a.1) != Some(v) {
                let _ = state.el.set_attribute(k, v);
            }
        }
        for (k, _) in &state.attrs {
            if !self.attrs.iter().any(|a| a.0 == *k) {
                let _ = state.el.remove_attribute(k);
            }
        }
        state.attrs = self.attrs;
        if let (Some((_, handler)), Some((current, _))) = (self.on, &state.handler) {
            *current.borrow_mut() = handler;
        }
        let mut old = std::mem::take(&mut state.kids).into_iter();
        for kid in self.kids {
            match old.next() {
                Some(mut drawn) => {
                    kid.patch(&mut drawn);
                    state.kids.push(drawn);
                }
                None => {
                    let drawn = kid.build();
                    let _ = state.el.append_child(drawn.node());
                    state.kids.push(drawn);
                }
            }
        }
        for gone in old {
            remove(gone.node());
        }
    }
}

impl Mountable for NodeState {
    fn unmount(&mut self) {
        self.el.remove();
    }

    fn mount(&mut self, parent: &types::Element, marker: Option<&types::Node>) {
        let _ = parent.insert_before(&self.el, marker);
    }

    fn insert_before_this(&self, child: &mut dyn Mountable) -> bool {
        match self.el.parent_element() {
            Some(parent) => {
                child.mount(&parent, Some(&self.el));
                true
            }
            None => false,
        }
    }

    fn elements(&self) -> Vec<types::Element> {
        vec![self.el.clone()]
    }
}

leptos::tachys::no_attrs!(Node);

// The widget is drawn in the browser only (client-side rendering): nothing is rendered to
// HTML, and there is no server markup to hydrate, so those paths draw afresh.
impl RenderHtml for Node {
    type AsyncOutput = Node;
    type Owned = Node;
    const MIN_LENGTH: usize = 0;

    fn dry_resolve(&mut self) {}

    async fn resolve(self) -> Node {
        self
    }

    fn to_html_with_buf(
        self,
        _buf: &mut String,
        _position: &mut Position,
        _escape: bool,
        _mark_branches: bool,
        _extra_attrs: Vec<leptos::attr::any_attribute::AnyAttribute>,
    ) {
    }

    fn hydrate<const FROM_SERVER: bool>(
        self,
        _cursor: &Cursor,
        _position: &PositionState,
    ) -> NodeState {
        self.build()
    }

    fn into_owned(self) -> Node {
        self
    }
}
