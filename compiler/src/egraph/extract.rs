//! DAG extraction: pick one e-node per needed e-class so that the program they form (a DAG: a
//! value with several users is computed once) has the least cost under [`CostModel`].
//!
//! A tree-cost extractor (egg's `Extractor`) counts a shared value once per use, which in a
//! ResNet's residual stream doubles per block; it would also not see that fusing a conv into one
//! user while another user still needs the plain conv computes the conv twice. So:
//!
//! 1. Greedy DAG costs (as in extraction-gym's "faster greedy DAG"): the cost of a class is the
//!    summed local cost of the *set* of classes its best node needs (a bitset union over the
//!    children's sets, so shared sub-DAGs count once), iterated to a fixed point with a work
//!    list; a node whose children's sets contain its own class is a cycle and skipped. The sets
//!    take memory and time quadratic in the e-graph, so beyond 16,384 classes (thousands of
//!    ops) the greedy pass uses tree costs instead and leaves sharing to step 3.
//! 2. Greedy choices are made class by class, so two users of one value can pick it in two
//!    layouts from two different producers (e.g. one operand of a residual conv from an NCHW
//!    stem, the other from an HWNC stem): the value is then computed twice. Extraction is
//!    therefore multi-start: one greedy run with every node allowed and one per 4-D layout with
//!    the layout-polymorphic ops restricted to that layout (transforms, quantize and dequantize
//!    stay free), which yields the uniform programs a network wants.
//! 3. Each start is improved by local search on the true DAG cost of the whole program: for
//!    each chosen class, try its other nodes and keep a change that lowers the total (each try
//!    walks the program; a bounded number of class visits). The cheapest start wins.
//!
//! The caller compares the result with the input's cost and keeps the input when it is not
//! cheaper.

use super::analysis::{Data, EGraph};
use super::cost::{Cost, CostModel};
use super::language::Qnn;
use egg::{Id, Language};
use nibble_qnn::semantics::Layout;
use std::collections::{HashMap, VecDeque};

/// The chosen node of every class the roots need, and their total cost.
#[derive(Clone, Debug)]
pub struct Extraction {
    pub choice: HashMap<Id, Qnn>,
    pub cost: Cost,
}

struct Node {
    node: Qnn,
    /// Value classes (indices) the node reads.
    kids: Vec<usize>,
    cost: Cost,
    time: f64,
}

struct Index {
    classes: Vec<Id>,
    of: HashMap<Id, usize>,
    nodes: Vec<Vec<Node>>,
    /// (class, node) pairs reading each class.
    parents: Vec<Vec<usize>>,
}

fn index(eg: &EGraph, model: &CostModel) -> Index {
    let classes: Vec<Id> = eg
        .classes()
        .filter(|c| !matches!(c.data, Data::Meta))
        .map(|c| c.id)
        .collect();
    let of: HashMap<Id, usize> = classes.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    let mut nodes: Vec<Vec<Node>> = Vec::with_capacity(classes.len());
    let mut parents = vec![vec![]; classes.len()];
    for (i, &c) in classes.iter().enumerate() {
        let mut v = vec![];
        for n in &eg[c].nodes {
            let Some(cost) = model.node_cost(eg, n) else {
                continue;
            };
            let mut kids: Vec<usize> = n
                .children()
                .iter()
                .filter_map(|k| of.get(&eg.find(*k)).copied())
                .collect();
            kids.sort_unstable();
            kids.dedup();
            for &k in &kids {
                parents[k].push(i);
            }
            v.push(Node {
                node: n.clone(),
                kids,
                time: model.time_us(&cost),
                cost,
            });
        }
        nodes.push(v);
    }
    for p in &mut parents {
        p.sort_unstable();
        p.dedup();
    }
    Index {
        classes,
        of,
        nodes,
        parents,
    }
}

#[derive(Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn or(&mut self, o: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&o.0) {
            *a |= b;
        }
    }
    fn for_each(&self, mut f: impl FnMut(usize)) {
        for (w, &word) in self.0.iter().enumerate() {
            let mut x = word;
            while x != 0 {
                let b = x.trailing_zeros() as usize;
                f(w * 64 + b);
                x &= x - 1;
            }
        }
    }
}

/// Classes up to which [`greedy`] keeps a set of classes per class (n^2 / 8 bytes: 32 MB here,
/// and time to match); larger e-graphs (thousands of ops) get tree costs, linear in the e-graph.
const DAG_GREEDY_CLASSES: usize = 16_384;

/// One node per class, cheapest by greedy DAG cost (tree cost beyond [`DAG_GREEDY_CLASSES`]),
/// among the nodes `allowed` admits.
fn greedy(ix: &Index, allowed: impl Fn(usize, usize) -> bool) -> Vec<Option<usize>> {
    if ix.classes.len() > DAG_GREEDY_CLASSES {
        return greedy_tree(ix, allowed);
    }
    let n = ix.classes.len();
    // (node, set of classes, total)
    let mut best: Vec<Option<(usize, Bits, f64)>> = (0..n).map(|_| None).collect();
    let mut queue: VecDeque<usize> = (0..n).collect();
    let mut queued = vec![true; n];
    let mut updates = vec![0u32; n];
    while let Some(c) = queue.pop_front() {
        queued[c] = false;
        let mut cand: Option<(usize, Bits, f64)> = None;
        for (ni, node) in ix.nodes[c].iter().enumerate() {
            if !allowed(c, ni) || node.kids.iter().any(|&k| best[k].is_none()) {
                continue;
            }
            let mut set = Bits::new(n);
            for &k in &node.kids {
                set.or(&best[k].as_ref().unwrap().1);
            }
            if set.has(c) {
                continue;
            }
            let mut total = node.time;
            set.for_each(|k| total += ix.nodes[k][best[k].as_ref().unwrap().0].time);
            set.set(c);
            if cand.as_ref().is_none_or(|b| total < b.2 - 1e-9) {
                cand = Some((ni, set, total));
            }
        }
        let changed = match (&best[c], &cand) {
            (None, None) => false,
            (Some(a), Some(b)) => a.0 != b.0 || (a.2 - b.2).abs() > 1e-9,
            _ => true,
        };
        if changed && updates[c] < 32 {
            updates[c] += 1;
            best[c] = cand;
            for &p in &ix.parents[c] {
                if !queued[p] {
                    queued[p] = true;
                    queue.push_back(p);
                }
            }
        }
    }
    best.iter().map(|b| b.as_ref().map(|b| b.0)).collect()
}

/// One node per class, cheapest by tree cost (a node's time plus its children's costs, a value
/// read twice counted twice), iterated to a fixed point. A class first gets a cost from
/// children that had one before it, and a later switch must be strictly cheaper, which a node
/// reading its own class (times are never negative) is not: the choice has no cycle.
fn greedy_tree(ix: &Index, allowed: impl Fn(usize, usize) -> bool) -> Vec<Option<usize>> {
    let n = ix.classes.len();
    let mut best: Vec<Option<(usize, f64)>> = vec![None; n];
    let mut queue: VecDeque<usize> = (0..n).collect();
    let mut queued = vec![true; n];
    while let Some(c) = queue.pop_front() {
        queued[c] = false;
        let mut cand = best[c];
        for (ni, node) in ix.nodes[c].iter().enumerate() {
            if !allowed(c, ni) {
                continue;
            }
            // tree costs double with every value read twice: saturate rather than overflow
            let total = node.kids.iter().try_fold(node.time, |acc, &k| {
                best[k].map(|(_, t)| (acc + t).min(f64::MAX))
            });
            if let Some(total) = total {
                if cand.is_none_or(|b| total < b.1 - 1e-9) {
                    cand = Some((ni, total));
                }
            }
        }
        if cand != best[c] {
            best[c] = cand;
            for &p in &ix.parents[c] {
                if !queued[p] {
                    queued[p] = true;
                    queue.push_back(p);
                }
            }
        }
    }
    best.iter().map(|b| b.map(|b| b.0)).collect()
}

/// When node `ni` of class `c` projects a two-result conv (`first` / `second`): the other
/// chosen classes that hold a projection of the same pair, switched to it. One result of a pair
/// alone costs a whole extra conv; both together can be cheaper, so the search moves them as one.
fn partner_projections(
    ix: &Index,
    choice: &[Option<usize>],
    c: usize,
    ni: usize,
) -> Vec<(usize, usize)> {
    let node = &ix.nodes[c][ni];
    if !matches!(node.node, Qnn::First(_) | Qnn::Second(_)) {
        return vec![];
    }
    let Some(&pair) = node.kids.first() else {
        return vec![];
    };
    let mut v = vec![];
    for &other in &ix.parents[pair] {
        if other == c || choice[other].is_none() {
            continue;
        }
        if let Some(k) = ix.nodes[other].iter().position(|n| {
            matches!(n.node, Qnn::First(_) | Qnn::Second(_)) && n.kids.first() == Some(&pair)
        }) {
            v.push((other, k));
        }
    }
    v
}

/// Classes visited by one start's local search at most (each candidate switch re-walks the
/// program, so the work grows with the square of the program): ResNet-50's search visits about
/// 212,000; a chain of 6,000 pools with three layouts each would take billions, and keeps the
/// choices it has improved so far where this runs out.
const LOCAL_SEARCH_VISITS: usize = 4_000_000;

/// Improve `choice` by node switches (single classes, or both projections of a two-result conv
/// together) that lower the true DAG cost, within [`LOCAL_SEARCH_VISITS`].
fn local_search(ix: &Index, choice: &mut [Option<usize>], roots: &[usize], mut total: f64) -> f64 {
    let mut visits = 0usize;
    for _round in 0..4 {
        let mut improved = false;
        let program = reachable(ix, choice, roots).unwrap_or_default();
        for &c in &program {
            for ni in 0..ix.nodes[c].len() {
                // a switch changes the program by a few classes: its walk costs about as much
                visits += program.len();
                if visits > LOCAL_SEARCH_VISITS {
                    return total;
                }
                if Some(ni) == choice[c]
                    || ix.nodes[c][ni].kids.iter().any(|&k| choice[k].is_none())
                {
                    continue;
                }
                let mut moves = vec![(c, ni)];
                moves.extend(partner_projections(ix, choice, c, ni));
                let old: Vec<(usize, Option<usize>)> =
                    moves.iter().map(|&(k, _)| (k, choice[k])).collect();
                for &(k, n) in &moves {
                    choice[k] = Some(n);
                }
                match dag_time(ix, choice, roots) {
                    Some(t) if t < total - 1e-6 => {
                        total = t;
                        improved = true;
                    }
                    _ => {
                        for (k, o) in old {
                            choice[k] = o;
                        }
                    }
                }
            }
        }
        if !improved {
            break;
        }
    }
    total
}

/// Extract the cheapest program computing `roots`: multi-start greedy DAG extraction (one start
/// with every node allowed, one per 4-D layout with the layout-polymorphic ops restricted to
/// that layout: a greedy choice made class by class can mix layouts in ways that compute a value
/// twice, a uniform body cannot), each improved by local search; the cheapest wins.
pub fn extract(eg: &EGraph, roots: &[Id], model: &CostModel) -> Result<Extraction, String> {
    let ix = index(eg, model);
    let root_ix: Vec<usize> = roots
        .iter()
        .map(|r| {
            ix.of
                .get(&eg.find(*r))
                .copied()
                .ok_or("a result is not a value".to_string())
        })
        .collect::<Result<_, _>>()?;
    let layout_of: Vec<Option<Layout>> = ix
        .classes
        .iter()
        .map(|&c| match &eg[c].data {
            Data::Value(v) if v.is_int() && v.layout.is_some_and(|l| l != Layout::NC) => v.layout,
            _ => None,
        })
        .collect();
    let mut best: Option<(f64, Vec<Option<usize>>)> = None;
    let starts: [Option<Layout>; 4] = [
        None,
        Some(Layout::NCHW),
        Some(Layout::NHWC),
        Some(Layout::HWNC),
    ];
    for start in starts {
        let mut choice = greedy(&ix, |c, ni| {
            let node = &ix.nodes[c][ni].node;
            match (start, layout_of[c]) {
                (Some(l), Some(lc)) => {
                    lc == l
                        || !node.is_op()
                        || matches!(
                            node,
                            Qnn::LayoutTransform(_) | Qnn::Quantize(_) | Qnn::Dequantize(_)
                        )
                }
                _ => true,
            }
        });
        let Some(total) = dag_time(&ix, &choice, &root_ix) else {
            continue;
        };
        let total = local_search(&ix, &mut choice, &root_ix, total);
        if best.as_ref().is_none_or(|b| total < b.0 - 1e-9) {
            best = Some((total, choice));
        }
    }
    let (_, choice) = best.ok_or("the e-graph has no acyclic program for the results")?;
    let used = reachable(&ix, &choice, &root_ix).ok_or("extraction has a cycle")?;
    let mut cost = Cost::default();
    let mut out = HashMap::new();
    for c in used {
        let node = &ix.nodes[c][choice[c].unwrap()];
        cost += node.cost;
        out.insert(ix.classes[c], node.node.clone());
    }
    Ok(Extraction { choice: out, cost })
}

/// Classes the roots need under `choice`, children before parents; None on a cycle or a class
/// without a choice.
fn reachable(ix: &Index, choice: &[Option<usize>], roots: &[usize]) -> Option<Vec<usize>> {
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; ix.classes.len()];
    let mut order = vec![];
    let mut stack: Vec<(usize, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
    while let Some((c, expanded)) = stack.pop() {
        if expanded {
            state[c] = 2;
            order.push(c);
            continue;
        }
        match state[c] {
            2 => continue,
            1 => return None,
            _ => {}
        }
        state[c] = 1;
        stack.push((c, true));
        let node = &ix.nodes[c][choice[c]?];
        for &k in node.kids.iter().rev() {
            match state[k] {
                2 => {}
                1 => return None,
                _ => stack.push((k, false)),
            }
        }
    }
    Some(order)
}

fn dag_time(ix: &Index, choice: &[Option<usize>], roots: &[usize]) -> Option<f64> {
    let used = reachable(ix, choice, roots)?;
    Some(
        used.iter()
            .map(|&c| ix.nodes[c][choice[c].unwrap()].time)
            .sum(),
    )
}

/// The cost of the program `choice` forms (every node of a class the roots need must be chosen).
pub fn program_cost(
    eg: &EGraph,
    choice: &HashMap<Id, Qnn>,
    roots: &[Id],
    model: &CostModel,
) -> Option<Cost> {
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<Id> = roots.iter().map(|&r| eg.find(r)).collect();
    let mut cost = Cost::default();
    while let Some(c) = stack.pop() {
        if !seen.insert(c) {
            continue;
        }
        let node = choice.get(&c)?;
        cost += model.node_cost(eg, node)?;
        for &k in node.children() {
            let k = eg.find(k);
            if !matches!(eg[k].data, Data::Meta) {
                stack.push(k);
            }
        }
    }
    Some(cost)
}
