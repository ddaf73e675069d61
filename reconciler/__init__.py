"""ecs-reconciler: a GitOps reconciler for Amazon ECS."""
__version__ = "0.1.0"
