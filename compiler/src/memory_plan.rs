//! Liveness-based placement of activation buffers in one device arena.
//!
//! Input: the buffers (bytes, and whether they are *pinned*: network inputs and outputs) and the
//! launches in execution order, each with the buffers it touches. The plan:
//!
//! 1. builds the dataflow graph with petgraph: one node per launch, an edge `a -> b` labelled
//!    with buffer `x` when `b` is the next launch after `a` that touches `x` (read or write: the
//!    graph orders every access, which is what sharing bytes must respect);
//! 2. derives each buffer's live range `[first launch, last launch]` from that graph (a buffer
//!    touched by one launch lives at that launch only; an untouched buffer is never live);
//! 3. places buffers greedily, largest first, at the lowest 256-byte-aligned offset that does not
//!    overlap any already placed buffer whose live range intersects its own.
//!
//! Pinned buffers are live for the whole run and conflict with every other buffer, so inputs and
//! outputs never alias anything (the host writes inputs before and reads outputs after a run).
//! Contract with the kernels: a buffer's contents are undefined when its first launch starts
//! (that launch writes it before anything reads it), exactly like `memref.alloc`.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// Offsets (and so the bytes each buffer starts at) are multiples of this.
pub const ALIGN: u64 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferReq {
    pub bytes: u64,
    /// Inputs/outputs: live for the whole run, never share bytes with anything.
    pub pinned: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    pub offsets: Vec<u64>,
    /// Bytes of the arena (a multiple of [`ALIGN`]).
    pub arena_bytes: u64,
    /// Live range per buffer as launch indices (inclusive); None: never touched by a launch.
    pub live: Vec<Option<(usize, usize)>>,
}

impl MemoryPlan {
    /// Do buffers `a` and `b` need disjoint bytes?
    pub fn conflict(&self, reqs: &[BufferReq], a: usize, b: usize) -> bool {
        conflict(reqs, &self.live, a, b)
    }
}

fn conflict(reqs: &[BufferReq], live: &[Option<(usize, usize)>], a: usize, b: usize) -> bool {
    if a == b {
        return false;
    }
    if reqs[a].pinned || reqs[b].pinned {
        return true;
    }
    match (live[a], live[b]) {
        (Some((s1, e1)), Some((s2, e2))) => s1 <= e2 && s2 <= e1,
        _ => false,
    }
}

/// The dataflow graph of the launches: node weight = launch index, edge weight = buffer.
pub fn dataflow_graph(
    num_buffers: usize,
    launches: &[Vec<usize>],
) -> Result<DiGraph<usize, usize>, String> {
    let mut g = DiGraph::with_capacity(launches.len(), 0);
    let nodes: Vec<NodeIndex> = (0..launches.len()).map(|i| g.add_node(i)).collect();
    let mut last: Vec<Option<usize>> = vec![None; num_buffers];
    for (i, uses) in launches.iter().enumerate() {
        let mut seen = uses.clone();
        seen.sort_unstable();
        seen.dedup();
        for &b in &seen {
            if b >= num_buffers {
                return Err(format!(
                    "launch {i} uses buffer {b}, there are {num_buffers}"
                ));
            }
            if let Some(p) = last[b] {
                g.add_edge(nodes[p], nodes[i], b);
            }
            last[b] = Some(i);
        }
    }
    if petgraph::algo::is_cyclic_directed(&g) {
        return Err("the launch dataflow graph has a cycle".into());
    }
    Ok(g)
}

/// Live range of every buffer, read off the dataflow graph.
pub fn live_ranges(
    num_buffers: usize,
    launches: &[Vec<usize>],
) -> Result<Vec<Option<(usize, usize)>>, String> {
    let g = dataflow_graph(num_buffers, launches)?;
    let mut live: Vec<Option<(usize, usize)>> = vec![None; num_buffers];
    let widen = |live: &mut Vec<Option<(usize, usize)>>, b: usize, i: usize| {
        live[b] = Some(match live[b] {
            None => (i, i),
            Some((s, e)) => (s.min(i), e.max(i)),
        });
    };
    for e in g.edge_references() {
        widen(&mut live, *e.weight(), g[e.source()]);
        widen(&mut live, *e.weight(), g[e.target()]);
    }
    // Buffers touched by a single launch have no edge.
    for (i, uses) in launches.iter().enumerate() {
        for &b in uses {
            if live[b].is_none() {
                widen(&mut live, b, i);
            }
        }
    }
    Ok(live)
}

fn align_up(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

/// Place every buffer (see the module comment).
pub fn plan(reqs: &[BufferReq], launches: &[Vec<usize>]) -> Result<MemoryPlan, String> {
    let live = live_ranges(reqs.len(), launches)?;
    let mut order: Vec<usize> = (0..reqs.len()).collect();
    // Pinned first (stable, readable offsets for inputs/outputs), then largest first.
    order.sort_by_key(|&b| (!reqs[b].pinned, std::cmp::Reverse(reqs[b].bytes), b));
    let mut offsets = vec![0u64; reqs.len()];
    let mut placed: Vec<usize> = vec![];
    let mut arena = 0u64;
    for &b in &order {
        let mut busy: Vec<(u64, u64)> = placed
            .iter()
            .filter(|&&p| conflict(reqs, &live, b, p) && reqs[p].bytes > 0)
            .map(|&p| (offsets[p], offsets[p] + reqs[p].bytes))
            .collect();
        busy.sort_unstable();
        let mut off = 0u64;
        for (s, e) in busy {
            if off + reqs[b].bytes <= s {
                break;
            }
            off = off.max(align_up(e));
        }
        offsets[b] = off;
        arena = arena.max(off + reqs[b].bytes);
        placed.push(b);
    }
    Ok(MemoryPlan {
        offsets,
        arena_bytes: align_up(arena),
        live,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    /// Liveness by brute force, straight from the launch list.
    fn brute_live(n: usize, launches: &[Vec<usize>]) -> Vec<Option<(usize, usize)>> {
        (0..n)
            .map(|b| {
                let idx: Vec<usize> = launches
                    .iter()
                    .enumerate()
                    .filter(|(_, u)| u.contains(&b))
                    .map(|(i, _)| i)
                    .collect();
                idx.first().map(|&f| (f, *idx.last().unwrap()))
            })
            .collect()
    }

    fn check(reqs: &[BufferReq], launches: &[Vec<usize>], p: &MemoryPlan) {
        let live = brute_live(reqs.len(), launches);
        assert_eq!(p.live, live, "graph liveness differs from brute force");
        assert_eq!(p.arena_bytes % ALIGN, 0);
        for (b, r) in reqs.iter().enumerate() {
            assert_eq!(p.offsets[b] % ALIGN, 0, "buffer {b} misaligned");
            assert!(
                p.offsets[b] + r.bytes <= p.arena_bytes,
                "buffer {b} outside the arena"
            );
        }
        // Every launch: the buffers it touches are simultaneously live, so pairwise disjoint.
        for (i, uses) in launches.iter().enumerate() {
            for &a in uses {
                assert!(live[a].is_some_and(|(s, e)| s <= i && i <= e));
            }
        }
        for a in 0..reqs.len() {
            for b in a + 1..reqs.len() {
                let both_live = match (live[a], live[b]) {
                    (Some((s1, e1)), Some((s2, e2))) => s1 <= e2 && s2 <= e1,
                    _ => false,
                };
                let must_split = both_live || reqs[a].pinned || reqs[b].pinned;
                let (oa, ob) = (p.offsets[a], p.offsets[b]);
                let overlap = oa < ob + reqs[b].bytes && ob < oa + reqs[a].bytes;
                assert!(
                    !(must_split && overlap),
                    "buffers {a} [{oa}, +{}) live {:?} pinned {} and {b} [{ob}, +{}) live {:?} pinned {} overlap",
                    reqs[a].bytes,
                    live[a],
                    reqs[a].pinned,
                    reqs[b].bytes,
                    live[b],
                    reqs[b].pinned
                );
            }
        }
    }

    #[test]
    fn random_graphs_never_overlap_live_buffers() {
        let mut r = Lcg(7);
        for case in 0..400 {
            let nb = 1 + r.below(40) as usize;
            let nl = r.below(30) as usize;
            let reqs: Vec<BufferReq> = (0..nb)
                .map(|_| BufferReq {
                    bytes: if r.below(10) == 0 {
                        0
                    } else {
                        1 + r.below(5000)
                    },
                    pinned: r.below(8) == 0,
                })
                .collect();
            // A random dataflow DAG: each launch reads a few buffers and writes one.
            let launches: Vec<Vec<usize>> = (0..nl)
                .map(|_| {
                    (0..1 + r.below(4))
                        .map(|_| r.below(nb as u64) as usize)
                        .collect()
                })
                .collect();
            let p = plan(&reqs, &launches).unwrap_or_else(|e| panic!("case {case}: {e}"));
            check(&reqs, &launches, &p);
        }
    }

    #[test]
    fn chain_reuses_bytes_and_pins_io() {
        // in -> a -> b -> c -> out: a and c can share, b sits elsewhere; in/out are never shared.
        let reqs = [
            BufferReq {
                bytes: 1000,
                pinned: true,
            },
            BufferReq {
                bytes: 1000,
                pinned: false,
            },
            BufferReq {
                bytes: 1000,
                pinned: false,
            },
            BufferReq {
                bytes: 1000,
                pinned: false,
            },
            BufferReq {
                bytes: 1000,
                pinned: true,
            },
        ];
        let launches = vec![vec![0, 1], vec![1, 2], vec![2, 3], vec![3, 4]];
        let p = plan(&reqs, &launches).unwrap();
        check(&reqs, &launches, &p);
        assert_eq!(p.offsets[1], p.offsets[3], "a and c do not overlap in time");
        assert_eq!(
            p.arena_bytes,
            4 * 1024,
            "two pinned + two shared slots of 1024"
        );
        let g = dataflow_graph(5, &launches).unwrap();
        assert_eq!(g.edge_count(), 3);
    }

    #[test]
    fn buffers_used_by_one_launch_are_disjoint_and_unused_buffers_cost_nothing() {
        let reqs = [BufferReq {
            bytes: 300,
            pinned: false,
        }; 3];
        let launches = vec![vec![0, 1]];
        let p = plan(&reqs, &launches).unwrap();
        check(&reqs, &launches, &p);
        assert_ne!(p.offsets[0], p.offsets[1]);
        assert_eq!(p.live[2], None);
        assert_eq!(p.arena_bytes, 1024);
    }

    #[test]
    fn out_of_range_buffer_is_an_error() {
        let reqs = [BufferReq {
            bytes: 4,
            pinned: false,
        }];
        assert!(plan(&reqs, &[vec![3]]).unwrap_err().contains("buffer 3"));
    }
}
